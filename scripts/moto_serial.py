"""moto's server (DynamoDB, SES v2) answering one request at a time on 127.0.0.1.

DynamoDB applies each request atomically: a conditional write or a transaction either sees the
item as it is and writes, or fails. moto's stock server is threaded and can interleave the steps
of two concurrent conditional writes to the same item, which DynamoDB never does. Serving one
request at a time restores DynamoDB's per-request atomicity, while the portal's own concurrent
requests still race between requests exactly as they would against DynamoDB.

Usage: python scripts/moto_serial.py PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
