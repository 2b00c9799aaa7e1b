#!/usr/bin/env python3
"""A small deployment of the student-records assignment, written the way students
write theirs, with at most ONE known defect: what inventory-check's tests point it at.

    server.py [--style flask|express] [--flaw NAME]

It listens on 127.0.0.1 only, on a port the system picks, and prints that port as
its first line of output. It starts with three records of real-looking students, so
a test can see that the checker leaves other people's records alone.

Styles (both correct without a flaw):
  flask    the assignment's routes; JSON or form bodies with Name/SRN/Section;
           plain-text answers; the read is jsonify(cursor.fetchall()): rows as arrays.
  express  JSON bodies only, with lower-case keys (name/srn/section); delete by path
           (GET /delete_record/:srn), which answers 200 {"message":"Student not
           found"} for a missing SRN; the read is {"count": n, "data": [{...}]}.

Flaws (each one defect, on the flask style unless it says otherwise):
"""

import argparse
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

FLAWS = {
    "strict-srn": "not a defect: SRNs must look like PES1UG21CS096 (the checker must adapt)",
    "early-ack": "insert answers 200 at once and stores the record 1.5 s later",
    "one-behind": "read answers with the records as they were at the previous read",
    "consumer-dies": "the insert consumer dies on its second message; inserts still answer 200",
    "process-dies": "the whole process exits on its second request",
    "missing-500": "an insert with a missing field raises KeyError: 500",
    "shared-channel": "one shared 'channel' for all requests: parallel inserts overwrite each other",
    "duplicate": "no primary key: inserting an existing SRN stores a second record",
    "delete-wrong": "delete runs WHERE SRN LIKE '%<srn>%': it removes every SRN containing it",
    "delete-silent": "deleting a missing SRN answers 200 'Record deleted'",
    "read-limit": "read runs SELECT ... LIMIT 10",
    "health-hang": "the health consumer never replies: GET /health_check hangs",
}
__doc__ += "".join(f"  {k:<15} {v}\n" for k, v in FLAWS.items())

SEED = [
    ("Anshul Ranjan", "PES1UG21CS096", "B"),
    ("Priya Nair", "PES1UG21CS105", "B"),
    ("Rahul Verma", "PES1UG21CS119", "C"),
]
SAMPLE_SRN = re.compile(r"^PES[12]UG\d{2}[A-Z]{2}\d{3}$")


class Database:
    """The table `students`, SRN its primary key (unless the flaw removes it)."""

    def __init__(self, flaw):
        self.flaw = flaw
        self.rows = [list(r) for r in SEED]
        self.lock = threading.Lock()
        self.previous_read = [list(r) for r in SEED]
        self.inserts_consumed = 0
        self.shared_channel = None

    def insert(self, row):
        """Returns False when the SRN exists (IntegrityError)."""
        with self.lock:
            if self.flaw != "duplicate" and any(r[1] == row[1] for r in self.rows):
                return False
            self.rows.append(row)
            return True

    def delete(self, srn):
        with self.lock:
            if self.flaw == "delete-wrong":
                keep = [r for r in self.rows if srn not in r[1]]
            else:
                keep = [r for r in self.rows if r[1] != srn]
            deleted = len(self.rows) - len(keep)
            self.rows = keep
            return deleted

    def read(self):
        with self.lock:
            rows = [list(r) for r in self.rows]
            if self.flaw == "read-limit":
                rows = rows[:10]
            if self.flaw == "one-behind":
                rows, self.previous_read = self.previous_read, rows
            return rows


class Handler(BaseHTTPRequestHandler):
    server_version = "Werkzeug/3.0"
    requests_seen = 0
    in_flight = 0
    most_in_flight = 0
    counter_lock = threading.Lock()

    def log_message(self, *args):
        pass

    # -- plumbing ---------------------------------------------------------------
    def answer(self, status, body, content_type=None):
        if not isinstance(body, str):
            body, content_type = json.dumps(body), "application/json"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body_fields(self):
        """Flask's `request.get_json() or request.form`: None for other types."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            return json.loads(raw or b"null")
        if ctype == "application/x-www-form-urlencoded" and self.server.style == "flask":
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        return None

    def route(self, method):
        with Handler.counter_lock:
            Handler.requests_seen += 1
            if self.server.flaw == "process-dies" and Handler.requests_seen == 2:
                os._exit(3)
            Handler.in_flight += 1
            Handler.most_in_flight = max(Handler.most_in_flight, Handler.in_flight)
        try:
            self.dispatch(method)
        finally:
            with Handler.counter_lock:
                Handler.in_flight -= 1

    def dispatch(self, method):
        url = urlparse(self.path)
        if url.path == "/_test/stats":  # for the test, not part of the deployment
            return self.answer(200, {"requests": Handler.requests_seen,
                                     "most_in_flight": Handler.most_in_flight})
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        handler = getattr(self, f"{self.server.style}_routes")
        try:
            handler(method, url.path, query)
        except json.JSONDecodeError:
            self.answer(400, "<h1>Bad Request</h1><p>Failed to decode JSON object</p>")
        except Exception:  # what Flask does with an uncaught exception
            self.answer(500, "<h1>Internal Server Error</h1>")

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    # -- the flask style ----------------------------------------------------------
    def flask_routes(self, method, path, query):
        db, flaw = self.server.db, self.server.flaw
        routes = {"/health_check": "GET", "/insert_record": "POST",
                  "/delete_record": "GET", "/read_database": "GET"}
        if path not in routes:
            return self.answer(404, "<h1>Not Found</h1>")
        if method != routes[path]:
            return self.answer(405, "<h1>Method Not Allowed</h1>")
        if path == "/health_check":
            if flaw == "health-hang":
                time.sleep(60)
            return self.answer(200, f"Health check message '{query.get('message')}' received by consumer")
        if path == "/read_database":
            return self.answer(200, db.read())
        if path == "/delete_record":
            srn = query.get("SRN")
            if not srn:
                return self.answer(400, "SRN is required")
            if db.delete(srn) or flaw == "delete-silent":
                return self.answer(200, f"Record {srn} deleted")
            return self.answer(404, f"No record with SRN {srn} found")
        data = self.body_fields()
        if data is None:
            return self.answer(415, "<h1>Unsupported Media Type</h1>")
        if not isinstance(data, dict):
            return self.answer(400, "Expected a JSON object")
        if flaw == "missing-500":
            row = [data["Name"], data["SRN"], data["Section"]]  # KeyError: 500
        else:
            row = [data.get("Name"), data.get("SRN"), data.get("Section")]
            if not all(row):
                return self.answer(400, "Name, SRN and Section are required")
        if not all(isinstance(v, str) for v in row):
            return self.answer(400, "Name, SRN and Section must be strings")
        if flaw == "strict-srn" and not SAMPLE_SRN.match(row[1]):
            return self.answer(400, f"Invalid SRN {row[1]}")
        return self.publish_insert(db, flaw, row)

    def publish_insert(self, db, flaw, row):
        if flaw == "early-ack":
            if any(r[1] == row[1] for r in db.read()):
                return self.answer(409, f"SRN {row[1]} already exists")
            threading.Timer(1.5, db.insert, [row]).start()
            return self.answer(200, f"Inserted record {row[1]}")
        if flaw == "consumer-dies":
            db.inserts_consumed += 1
            if db.inserts_consumed >= 2:  # the consumer is gone; the publish still "works"
                return self.answer(200, f"Record {row[1]} sent for insertion")
        if flaw == "shared-channel":
            db.shared_channel = row
            time.sleep(0.1)  # the publish, on a channel other threads also use
            row = db.shared_channel
        if not db.insert(row):
            if flaw == "shared-channel":
                raise RuntimeError("channel closed: frame interleaved")
            return self.answer(409, f"SRN {row[1]} already exists")
        return self.answer(200, f"Inserted record {row[1]}")

    # -- the express style --------------------------------------------------------
    def express_routes(self, method, path, query):
        db = self.server.db
        if (method, path) == ("GET", "/health_check"):
            return self.answer(200, {"status": "ok", "message": query.get("message")})
        if (method, path) == ("GET", "/read_database"):
            rows = [{"name": n, "srn": s, "section": c} for n, s, c in db.read()]
            return self.answer(200, {"count": len(rows), "data": rows})
        m = re.fullmatch(r"/delete_record/([^/]+)", path)
        if method == "GET" and m:
            srn = unquote(m.group(1))
            if db.delete(srn):
                return self.answer(200, {"message": f"Student {srn} deleted"})
            return self.answer(200, {"deleted": 0, "message": "Student not found"})
        if (method, path) == ("POST", "/insert_record"):
            data = self.body_fields()
            if not isinstance(data, dict):
                return self.answer(400, {"error": "send JSON"})
            row = [data.get("name"), data.get("srn"), data.get("section")]
            if not all(isinstance(v, str) and v for v in row):
                return self.answer(400, {"error": "name, srn and section are required strings"})
            if not db.insert(row):
                return self.answer(409, {"error": f"{row[1]} exists"})
            return self.answer(201, {"message": "Student added", "student": row[1]})
        return self.answer(404, f"Cannot {method} {path}", "text/html; charset=utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # Werkzeug's backlog: Python's default of 5 drops the SYNs of a burst of parallel
    # clients, and their retransmits arrive a second later.
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", choices=["flask", "express"], default="flask")
    parser.add_argument("--flaw", choices=sorted(FLAWS), default=None)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.style, server.flaw, server.db = args.style, args.flaw, Database(args.flaw)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
