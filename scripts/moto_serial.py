"""moto's server (DynamoDB, SES v2) answering one request at a time on 127.0.0.1.

DynamoDB applies each request atomically: a conditional write or a transaction either sees the
item as it is and writes, or fails. moto's stock server is threaded and can interleave the steps
of two concurrent conditional writes to the same item, which DynamoDB never does. Serving one
request at a time restores DynamoDB's per-request atomicity, while the portal's own concurrent
requests still race between requests exactly as they would against DynamoDB.

moto's Query reads and sorts every item of the table to answer for one partition; DynamoDB reads
only that partition. Loading a practice of 1,000 households (a query each) would then cost time
quadratic in the table's size, so a base-table Query here reads its partition only, as DynamoDB does.

Usage: python scripts/moto_serial.py PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

_stock_query = Table.query
_stock_all_items = Table.all_items


def _partition_query(self, hash_key, *args, **kwargs):
    """Query the base table's partition `hash_key` (GSI queries still read every item, as before)."""
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    self._partition = hash_key if index_name is None and self.range_key_attr else None
    try:
        return _stock_query(self, hash_key, *args, **kwargs)
    finally:
        self._partition = None


def _partition_all_items(self):
    partition = getattr(self, "_partition", None)
    if partition is None:
        return _stock_all_items(self)
    found = self.items[partition] if partition in self.items else {}
    return sorted(found.values(), key=lambda item: item.range_key)


Table.query = _partition_query
Table.all_items = _partition_all_items


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
