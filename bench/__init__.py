"""payql's load and latency benchmark (``make bench``; see ``bench/README.md``).

run.py        orchestrates: temp database, seed, servers, scenarios, table, JSON
environment   the temporary database (SQLite file or a fresh PostgreSQL database)
              and the server processes (``payql serve``, the floor app)
seed.py       bench data on top of the demo workspace
scenarios.py  what each scenario sends and how a ladder of arrival rates is run
loadgen.py    the open-model load generator (its own process)
http.py       a small keep-alive HTTP/1.1 client the load generator drives
fanout.py     websocket subscribers for fan-out and memory (its own process)
wsclient.py   a small GraphQL-over-websocket client (graphql-transport-ws)
floor.py      the floor: a raw Starlette app reading the same order row
querycount.py SQL statements per ``orders`` page, counted in-process
proc.py       /proc readings (CPU, RSS) and the job-process runner
report.py     the table and the JSON file
"""
