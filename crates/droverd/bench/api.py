# API benchmark: durable single submits (16 keep-alive clients), one 10,000-task batch, then
# kill -9 and the time until the restarted daemon serves the API and coordinates again with
# every open task restored. Usage (from the repo root, after `cargo build -p droverd`):
#   python3 crates/droverd/bench/api.py target/debug/droverd .
import http.client, json, os, subprocess, sys, threading, time, shutil, signal
BIN = sys.argv[1]; REPO = sys.argv[2]
DATA = "/tmp/bench/data"; shutil.rmtree(DATA, ignore_errors=True)
API = ("127.0.0.1", 18181)
def start():
    p = subprocess.Popen([BIN, "demo", "--config", "config/droverd.toml", "--robots", "4", "--queued", "0",
        "--speed", "8", "--listen", "%s:%d" % API, "--broker-listen", "127.0.0.1:18931", "--data-dir", DATA],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, DROVERD_LOG="warn"))
    return p
def get(path):
    c = http.client.HTTPConnection(*API, timeout=10); c.request("GET", path); r = c.getresponse(); return r.status, r.read()
def wait_api():
    while True:
        try:
            if get("/api/floor")[0] == 200: return
        except Exception: pass
        time.sleep(0.01)
p = start(); wait_api(); time.sleep(2)
N, T = 6000, 16
lat = []; lock = threading.Lock()
def worker(k):
    c = http.client.HTTPConnection(*API, timeout=30); mine = []
    for i in range(k, N, T):
        body = json.dumps({"kind": "pick", "pod": "pod-%04d" % (1 + i % 150), "key": "b-%d" % i})
        t0 = time.perf_counter(); c.request("POST", "/api/tasks", body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); mine.append(time.perf_counter() - t0)
        assert r.status == 201, r.status
    with lock: lat.extend(mine)
t0 = time.perf_counter(); ths = [threading.Thread(target=worker, args=(k,)) for k in range(T)]
[t.start() for t in ths]; [t.join() for t in ths]; el = time.perf_counter() - t0
lat.sort()
print("single submits: %d in %.2f s = %.0f/s, p50 %.1f ms, p99 %.1f ms (%d client threads)" % (N, el, N/el, lat[N//2]*1e3, lat[int(N*0.99)]*1e3, T))
tasks = [{"kind": "pick", "pod": "pod-%04d" % (1 + i % 150)} for i in range(10000)]
body = json.dumps({"tasks": tasks}); c = http.client.HTTPConnection(*API, timeout=60)
t0 = time.perf_counter(); c.request("POST", "/api/tasks/batch", body, {"Content-Type": "application/json"}); r = c.getresponse(); out = json.loads(r.read()); el = time.perf_counter() - t0
print("batch: 10000 tasks in %.3f s = %.0f/s (%d stored)" % (el, 10000/el, sum(1 for x in out["results"] if x["status"] == 201)))
time.sleep(1)
open_before = json.loads(get("/api/kpis")[1])["tasks"]
print("before kill:", open_before)
p.send_signal(signal.SIGKILL); p.wait()
t0 = time.perf_counter(); p = start(); wait_api(); t_api = time.perf_counter() - t0
while True:
    live = json.loads(get("/api/live")[1])
    if len(live["robots"]) == 4 and live["tick"] > 0: break
    time.sleep(0.01)
t_all = time.perf_counter() - t0
k = live["kpis"]["tasks"]; openn = k["queued"] + k["assigned"] + k["in_progress"]
print("restart: API answers after %.2f s; robots located, %d open tasks restored, coordinating after %.2f s" % (t_api, openn, t_all))
p.send_signal(signal.SIGKILL)
