"""localstripe (a stateful fake Stripe, from PyPI) on 127.0.0.1 only, keeping its data in memory.

localstripe's own launcher listens on every interface and writes its whole store to
/tmp/localstripe.pickle after each change. The portal's tests need neither: this serves the same
application on loopback, starting empty, so two runs never share or leak state.

Besides Stripe's API it serves a fake Stripe.js at /js.stripe.com/v3/ (the card Element,
confirmCardSetup and confirmCardPayment), which the browser journeys load instead of Stripe's.

Usage: python scripts/localstripe_server.py PORT
"""

import logging
import sys

from aiohttp import web

from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None
resources.store.clear()

if __name__ == "__main__":
    port = int(sys.argv[1])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None)
