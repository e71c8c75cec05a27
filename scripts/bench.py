"""The parts of scripts/bench written in Python: cold starts through a minimal Lambda Runtime API,
wrk against the local server and nginx, and docs/benchmarks.md from every figure.

  python scripts/bench.py cold-start OUT.json BIN_DIR NAME...   starts each binary 31 times, round robin
  python scripts/bench.py throughput OUT.json PORTAL_BIN        wrk: the invoices page vs nginx
  python scripts/bench.py report RESULTS_DIR docs/benchmarks.md
Everything listens on 127.0.0.1 only.
"""

import http.server
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTS = 31
# The path each function answers first: a page it serves that needs no session or table read.
FIRST_PATH = {
    "sign-in": "/sign-in",
    "invoices": "/invoices",
    "pay-invoice": "/invoices/inv-1/pay",
    "payment-options": "/payment-methods",
    "payment-events": "/stripe/webhook",
    "agreements": "/agreements",
    "contact-info": "/members",
    "memberships": "/memberships",
    "renew-membership": "/memberships/ms-1/renew",
    "add-dependent": "/memberships/ms-1/dependents/new",
    "hello-lambda": "/",
    # Not an HTTP function: its first invocation is an (empty) batch of the table's stream.
    "practice-feed": None,
}
ORIGIN_SECRET = "origin-verify-secret-for-the-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The two calls a Lambda runtime makes: next invocation, and its response."""

    event: bytes = b""
    answered: threading.Event
    answered_at = 0.0
    status = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.server.event)))
            self.end_headers()
            self.wfile.write(self.server.event)
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "/response" in self.path or "/error" in self.path:
            self.server.answered_at = time.perf_counter()
            try:
                self.server.status = json.loads(body or b"{}").get("statusCode")
            except ValueError:
                self.server.status = "error"
            self.server.answered.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(http.server.HTTPServer):
    """The runtime's second poll is cut short when the bench stops the process: not an error."""

    def handle_error(self, request, client_address):
        pass


def function_env(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PORTAL_", "RUST_"))}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            # Nothing answers here: a network call at init would show as a slow or failed start.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "PORTAL_SECRET": "a-bench-secret-that-is-at-least-32-characters",
            "ORIGIN_VERIFY_SECRET": ORIGIN_SECRET,
            "TABLE_NAME": "portal-bench",
            "PORTAL_PUBLIC_URL": "https://portal.example.com",
            "MAIL_FROM": "care@example.com",
            "PRACTICE_NAME": "Bench Practice",
            # The payment functions start on Stripe, as deployed: its client is linked in and made
            # on the first request (nothing answers at this address either).
            "PAYMENT_PROCESSOR": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
            "STRIPE_WEBHOOK_SECRET": "whsec_bench",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
        }
    )
    return env


def event_for(path) -> bytes:
    if path is None:
        return json.dumps({"Records": []}).encode()
    event = json.loads((ROOT / "tests/fixtures/function-url-get.json").read_text())
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["headers"]["x-origin-verify"] = ORIGIN_SECRET
    return json.dumps(event).encode()


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def one_start(binary: Path, path: str) -> tuple:
    """Starts the binary once; (ms from process start to its first answer, peak RSS in KB, status)."""
    server = QuietServer(("127.0.0.1", 0), RuntimeApi)
    server.event = event_for(path)
    server.answered = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    started = time.perf_counter()
    proc = subprocess.Popen([str(binary)], env=function_env(server.server_address[1]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = server.answered.wait(30)
    result = None
    if ok:
        elapsed = (server.answered_at - started) * 1000
        time.sleep(0.02)
        result = (elapsed, peak_rss_kb(proc.pid), server.status)
    proc.kill()
    proc.wait()
    server.shutdown()
    server.server_close()
    if result is None:
        raise SystemExit(f"{binary.name} did not answer its first invocation within 30 s")
    return result


def cold_start(out: str, bin_dir: str, names: list) -> None:
    # Round robin: each round starts every binary once, so drift in the machine's speed during the
    # run falls on all of them alike instead of on whichever ran last.
    samples = {name: [] for name in names}
    for _ in range(STARTS):
        for name in names:
            samples[name].append(one_start(Path(bin_dir) / name, FIRST_PATH[name]))
    results = {}
    for name, runs in samples.items():
        times = [t for t, _, _ in runs]
        results[name] = {
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
            "peak_rss_kb": max(r for _, r, _ in runs),
            "statuses": sorted({str(st) for _, _, st in runs}),
            "starts": STARTS,
        }
        print(f"  {name}: {results[name]['median_ms']:.1f} ms median, peak RSS {results[name]['peak_rss_kb'] / 1024:.1f} MB", flush=True)
    Path(out).write_text(json.dumps(results, indent=2))


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


class Session:
    """A browser's cookie jar, enough to sign in to the local portal (no redirects followed)."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            resp = self.opener.open(req)
        except urllib.error.HTTPError as e:
            resp = e
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";")[0].partition("=")
            self.cookies[name] = value
        return resp.status, resp.read().decode("utf-8", "replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def wrk(url: str, cookie: str | None) -> dict:
    command = ["wrk", "-t2", "-c32", "-d8s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p50.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": rps, "p50_ms": float(p50.group(1)) * scale, "errors": int(non_2xx.group(1)) if non_2xx else 0}


def throughput(out: str, portal_bin: str) -> None:
    port = free_port()
    portal = subprocess.Popen([portal_bin, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "RUST_LOG": "off"})
    nginx_dir = Path(tempfile.mkdtemp(prefix="portal-bench-nginx-"))
    nginx_dir.chmod(0o755)  # nginx's workers run as an unprivileged user and must read the page
    nginx = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/sign-in")
        s = Session(base)
        _, page = s.request("/sign-in")
        token = csrf(page)
        s.request("/sign-in", {"csrf_token": token, "email": "maria@example.com"})
        outbox = json.loads(urllib.request.urlopen(urllib.request.Request(base + "/_dev/outbox", headers={"Accept": "application/json"})).read())
        code = re.search(r"\b(\d{6})\b", outbox[-1]["text"]).group(1)
        status, _ = s.request("/sign-in/code", {"csrf_token": token, "code": code})
        assert status == 303, f"signing in answered {status}"
        status, invoices = s.request("/invoices")
        assert status == 200 and "Invoices" in invoices
        cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())

        # nginx serves the same bytes as a static file, on 127.0.0.1, in the same run.
        (nginx_dir / "www").mkdir()
        (nginx_dir / "www/invoices.html").write_text(invoices)
        nginx_port = free_port()
        (nginx_dir / "nginx.conf").write_text(f"""
worker_processes 2;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {nginx_dir}/body; proxy_temp_path {nginx_dir}/proxy; fastcgi_temp_path {nginx_dir}/fastcgi;
  uwsgi_temp_path {nginx_dir}/uwsgi; scgi_temp_path {nginx_dir}/scgi;
  server {{ listen 127.0.0.1:{nginx_port}; root {nginx_dir}/www; location / {{ default_type text/html; }} }}
}}
""")
        nginx = subprocess.Popen(["nginx", "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf"), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{nginx_port}/invoices.html")
        portal_result = wrk(base + "/invoices", cookie)
        nginx_result = wrk(f"http://127.0.0.1:{nginx_port}/invoices.html", None)
        result = {"portal": portal_result, "nginx": nginx_result, "bytes": len(invoices.encode()),
                  "ratio": portal_result["requests_per_s"] / nginx_result["requests_per_s"]}
        print(f"  portal {portal_result['requests_per_s']:.0f} req/s, nginx {nginx_result['requests_per_s']:.0f} req/s", flush=True)
        Path(out).write_text(json.dumps(result, indent=2))
    finally:
        portal.kill()
        portal.wait()
        if nginx:
            # TERM lets the master stop its workers; KILL would leave them running.
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        shutil.rmtree(nginx_dir, ignore_errors=True)


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()} {platform.machine()}; {rustc}"


def criterion_medians(target: Path) -> dict:
    medians = {}
    for estimates in (target / "criterion").glob("*/*/new/estimates.json"):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        medians[(bench["group_id"], bench["function_id"])] = json.loads(estimates.read_text())["median"]["point_estimate"] / 1e6
    return medians


# Pages the flat-cost budget leaves out: the statement reads its period, a PDF is a download.
def flat_budgeted(route: str) -> bool:
    return "statement" not in route and "PDF" not in route


def flat_cost(pages: dict, medians: dict) -> dict:
    """The flat-page-cost budgets over the grown households: requests, read units and handler time."""
    grown = pages["grown"]
    budgeted = [p["route"] for p in grown[0]["pages"] if flat_budgeted(p["route"])]
    within, worst = 0, ("", 0, 0)
    for route in budgeted:
        rows = [next(p for p in g["pages"] if p["route"] == route) for g in grown]
        if all(r["reads"] <= 2 and r["read_units"] <= 4 for r in rows):
            within += 1
        top = max(rows, key=lambda r: r["read_units"])
        if top["read_units"] > worst[2]:
            worst = (route, top["reads"], top["read_units"])
    smallest, largest = f"{grown[0]['invoices']:,}", f"{grown[-1]['invoices']:,}"
    ratios = {}
    for p in grown[0]["pages"]:
        small = medians.get(("page", f"{p['route']} ({smallest} invoices, grown)"))
        large = medians.get(("page", f"{p['route']} ({largest} invoices, grown)"))
        if small and large:
            ratios[p["route"]] = large / small
    # Handler time is held to the budget on every route measured, the statement and PDFs too.
    timed = ratios
    worst_ratio = max(timed.items(), key=lambda kv: kv[1]) if timed else ("none", 0.0)
    return {
        "sizes": ", ".join(f"{g['invoices']:,}" for g in grown) + " invoices",
        "pages": len(budgeted),
        "within": within,
        "worst": f"{worst[0]} ({worst[1]} requests, {worst[2]} read units)",
        "smallest": smallest,
        "largest": largest,
        "ratios": ratios,
        "timed": len(timed),
        "time_within": sum(1 for v in timed.values() if v <= 1.2),
        "worst_ratio": worst_ratio[1],
        "worst_ratio_page": worst_ratio[0],
    }


def statement_cost(pages: dict) -> dict:
    """The statement of the default period in each grown household: its read units may grow by the
    household's figures by month (one item of about 300 bytes a year of history, 13 to a read unit),
    not by the history itself."""
    units = [next(p for p in g["pages"] if p["route"] == "statement")["read_units"] for g in pages["grown"]]
    return {"cells": ", ".join(f"{u} RU" for u in units), "flat": max(units) <= min(units) + 1}


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(results: str, out: str) -> None:
    r = Path(results)
    cold = json.loads((r / "cold-start.json").read_text())
    pages = json.loads((r / "requests.json").read_text())
    sizes = json.loads((r / "sizes.json").read_text())
    tp = json.loads((r / "throughput.json").read_text())
    medians = criterion_medians(Path(json.loads((r / "meta.json").read_text())["target_dir"]))
    hello = cold["hello-lambda"]["median_ms"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `scripts/bench` on {time.strftime('%Y-%m-%d')}. Machine: {machine()}.",
        "Each figure is a ratio or a count from one run, since this machine's absolute speed drifts.",
        "",
        "## Budgets",
        "",
        "| budget | measured | |",
        "| --- | --- | --- |",
    ]
    worst_cold = max(v["median_ms"] / hello for k, v in cold.items() if k != "hello-lambda")
    grown = pages["grown"]
    signed_in = pages["demo"] + [p for g in grown for p in g["pages"]]
    # The statement reads its period in its own reads (the figures by month, the period's invoices
    # and payments: `store::statement`), which the flat-cost budget leaves out; every other page is held to 2.
    max_requests = max(p["reads"] + p["writes"] for p in pages["demo"] if flat_budgeted(p["route"]))
    statement_requests = max((p["reads"] + p["writes"] for p in pages["demo"] if not flat_budgeted(p["route"])), default=0)
    flat = flat_cost(pages, medians)
    statement = statement_cost(pages)
    html_pages = [p for p in pages["public"] + signed_in if p["html_css_bytes"]]
    heaviest = max(html_pages, key=lambda p: p["html_css_bytes"])
    third = sum(p["third_party"] for p in html_pages)
    def worst(household: str):
        runs = [(k, v) for k, v in medians.items() if k[1].endswith(f"({household})")]
        return max(runs, key=lambda kv: kv[1]) if runs else (("none", "none"), 0.0)

    worst_demo, worst_big = worst("demo"), worst("500 invoices")
    biggest = max(sizes.items(), key=lambda kv: kv[1])
    lines += [
        f"| init ≤ 1.5× hello-world `lambda_http` | worst {worst_cold:.2f}× | {verdict(worst_cold <= 1.5)} |",
        f"| signed-in page but the statement and PDFs ≤ 2 table requests, no Scan (demo) | at most {max_requests} (the statement: {statement_requests}, reading its period); the `Table` port has no Scan | {verdict(max_requests <= 2)} |",
        f"| every page but the statement and PDFs ≤ 2 requests and ≤ 4 read units, {flat['sizes']} | {flat['within']} of {flat['pages']} pages; most: {flat['worst']} | {verdict(flat['within'] == flat['pages'])} |",
        f"| handler time within 1.2× from {flat['smallest']} to {flat['largest']} invoices, every page, the statement and PDFs | {flat['time_within']} of {flat['timed']} routes; worst {flat['worst_ratio']:.2f}× ({flat['worst_ratio_page']}) | {verdict(flat['time_within'] == flat['timed'])} |",
        f"| the statement reads its period, not the history before it: read units of the default period, {flat['sizes']} | {statement['cells']} | {verdict(statement['flat'])} |",
        f"| handler ≤ 1 ms median, demo households (in-memory table) | worst {worst_demo[1]:.3f} ms ({worst_demo[0][0]}: {worst_demo[0][1]}) | {verdict(worst_demo[1] <= 1.0)} |",
        f"| handler ≤ 1 ms median, 500 invoices and 200 payments | worst {worst_big[1]:.3f} ms ({worst_big[0][0]}: {worst_big[0][1]}) | {verdict(worst_big[1] <= 1.0)} |",
        f"| page ≤ 30 KB HTML+CSS | heaviest {heaviest['html_css_bytes'] / 1024:.1f} KB ({heaviest['route']}) | {verdict(heaviest['html_css_bytes'] <= 30 * 1024)} |",
        f"| zero third-party requests | {third} | {verdict(third == 0)} |",
        f"| bootstrap ≤ 6 MB (arm64, release) | largest {biggest[1] / 1e6:.2f} MB ({biggest[0]}) | {verdict(biggest[1] <= 6e6)} |",
        f"| throughput (no budget): local server / nginx, same bytes | {tp['ratio']:.2f} | |",
        "",
        "## Cold start",
        "",
        f"Process start to the first invocation answered, through a local Lambda Runtime API, median of {STARTS} starts taken round robin,",
        "host release builds (same profile as the deployed bootstraps), with `AWS_ENDPOINT_URL` pointing at a closed port:",
        "a network call during init would fail or slow the start.",
        "",
        "| function | median | min–max | × hello | peak RSS | first answer |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, v in cold.items():
        lines.append(f"| {name} | {v['median_ms']:.1f} ms | {v['min_ms']:.1f}–{v['max_ms']:.1f} ms | {v['median_ms'] / hello:.2f} | "
                     f"{v['peak_rss_kb'] / 1024:.1f} MB | {', '.join(v['statuses'])} |")
    lines += ["", "## Handler time per page (criterion, in-memory table)", "",
              "Median of criterion's samples; the demo household and the same household with 500 invoices and 200 payments.", "",
              "| benchmark | median |", "| --- | --- |"]
    for (group, name), ms in sorted(medians.items()):
        if group != "report":
            lines.append(f"| {group}: {name} | {ms * 1000:.0f} µs |")
    lines += ["", "The pages about the household (members, contact details, email preferences, memberships, renewal, a new",
              "dependent, leaving, payment methods, automatic payment, agreements) read its profile alone: the sort keys from",
              "`ACCOUNT` on, below which the billing history lies (`keys::profile_range`). The invoice list reads down from the",
              "household's record: the record, the summary of its open invoices and the newest invoices (`store::invoice_list`);",
              "an older page, the invoices below its cursor; the unpaid invoices, the summary. Its cost follows the open invoices,",
              "not the history: the 500-invoice household leaves 300 unpaid, the grown households only the demo's few. The pay",
              "form, reached by its link (which names the oldest invoice it pays), reads from that invoice up through the profile",
              "(`store::open_since`). The statement reads its period: the household's charges and payments by month through its",
              "first year (one small item a year), the invoices from the first of its first month and the payments from the month",
              "before (`store::statement`); a statement that starts within the last two years takes its opening balance from",
              "the household's totals of every month less the months since (`balances::Recent`), so it reads the same few",
              "items however many years lie before. An invoice (page, print view, PDF), reached by its link (which names its issue date),",
              "reads three items by key in one request: the household's record, the invoice and the copies of its payments",
              "(`store::invoice_page`). The receipts list reads the household's record, the index of the years it paid in and",
              "this year's receipts by key in one request (`store::cleared`). A payment's page and its itemized receipt, reached",
              "by their links (which name the payment's invoices and their issue dates), read the record, each invoice and the",
              "copies of its payments by key in one request (`store::applied::payment_read`)."]
    reports = sorted((name, ms) for (group, name), ms in medians.items() if group == "report")
    if reports:
        lines += ["", "A statement's cost follows its period: the pages above show the default 12 months. The same household's",
                  "statement of every year of its history (the longest period allowed covers it), every invoice and payment",
                  "decoded and listed:", ""]
        lines += [f"- {name}: {ms * 1000:.0f} µs ({ms * 1000 / 700:.1f} µs a line)" for name, ms in reports]
    if worst_big[1] > 1.0:
        lines += ["", f"Over budget for the 500-invoice household: {worst_big[0][0]} {worst_big[0][1]} takes {worst_big[1]:.3f} ms."]
    lines += ["", "## Page cost by the size of the history", "",
              "A warm page as Maria, against DynamoDB (moto): table requests (a Query counts one per megabyte it reads) and read",
              "units as DynamoDB counts strongly consistent reads (each GetItem's item, and each Query's items together, in 4 KB",
              "units), for the demo household grown by " + ", ".join(f"{g['grown_by']:,}" for g in grown) + " invoices of years past, each paid by card;",
              "handler time is criterion's median with the in-memory table.", "",
              "| route | " + " | ".join(f"{g['invoices']:,} invoices" for g in grown) + " | time, largest / smallest |",
              "| --- | " + " | ".join("---" for _ in grown) + " | --- |"]
    for i, (name, _) in enumerate((p["route"], p["path"]) for p in grown[0]["pages"]):
        cells = [f"{g['pages'][i]['reads']} req, {g['pages'][i]['read_units']} RU" for g in grown]
        ratio = flat["ratios"].get(name)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {'—' if ratio is None else f'{ratio:.2f}×'} |")
    lines += ["", "## Table requests and weight per page", "",
              "A warm page (second visit) as Maria, against DynamoDB (moto). Bytes are the response; HTML+CSS adds the one stylesheet "
              f"({pages['css_bytes']} bytes). PDFs are downloads, not pages.", "",
              "| household | route | status | reads | writes | bytes | HTML+CSS | third-party |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    largest = grown[-1]
    for household, rows in [("signed out", pages["public"]), ("demo", pages["demo"]), (f"{largest['invoices']:,} invoices", largest["pages"])]:
        for p in rows:
            lines.append(f"| {household} | {p['route']} `{p['path']}` | {p['status']} | {p['reads']} | {p['writes']} | {p['bytes']} | "
                         f"{p['html_css_bytes'] or '—'} | {p['third_party']} |")
    if worst_cold > 1.5:
        lines += ["", "Over budget: hello-world does nothing at init; a portal function also reads and checks its configuration",
                  "and starts JSON logging, and its binary is larger (more to map and relocate). The AWS clients are built when",
                  "a request first needs them, so the first event here (a signed-out page) never waits for them. On this 2-core",
                  "machine starts of a few milliseconds vary by a millisecond or two from run to run (see min–max)."]
    lines += ["", "## Bootstrap sizes (arm64, release)", "", "| function | bytes |", "| --- | --- |"]
    for name, size in sorted(sizes.items()):
        lines.append(f"| {name} | {size:,} ({size / 1e6:.2f} MB) |")
    if biggest[1] > 6e6:
        lines += ["", "Over budget: most of each bootstrap is the AWS SDK's DynamoDB and SES v2 clients (their generated",
                  "serializers for every operation) and the TLS stack. Next: call DynamoDB and SES through a smaller client."]
    else:
        lines += ["", "What keeps them small: rustls with ring (the SDK's default HTTPS client brings aws-lc), the functions' SDK",
                  "configuration read from the environment alone (so profiles, SSO, STS and instance metadata are not linked in),",
                  "only the United States' time zones built into chrono-tz (`.cargo/config.toml`), a log filter without a",
                  "regular-expression engine, and the release profile (`opt-level = \"s\"`, fat LTO, one codegen unit,",
                  "`panic = \"abort\"`, stripped). Before these: 6.84–9.17 MB."]
    lines += ["", "## Throughput", "",
              f"`wrk -t2 -c32 -d8s` on 127.0.0.1: the local server's signed-in invoices page (in-memory table) against nginx serving the same {tp['bytes']} bytes as a static file, in the same run.", "",
              "| server | requests/s | p50 latency | errors |", "| --- | --- | --- | --- |",
              f"| portal (`portal serve`, release) | {tp['portal']['requests_per_s']:.0f} | {tp['portal']['p50_ms']:.2f} ms | {tp['portal']['errors']} |",
              f"| nginx (static file) | {tp['nginx']['requests_per_s']:.0f} | {tp['nginx']['p50_ms']:.2f} ms | {tp['nginx']['errors']} |",
              f"| ratio | {tp['ratio']:.2f} | | |", ""]
    Path(out).write_text("\n".join(lines))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "cold-start":
        cold_start(args[0], args[1], args[2:])
    elif command == "throughput":
        throughput(args[0], args[1])
    elif command == "report":
        report(args[0], args[1])
    else:
        raise SystemExit(__doc__)
