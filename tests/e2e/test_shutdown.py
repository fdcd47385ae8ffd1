"""Graceful shutdown of a busy magnumd --dev: SIGTERM while clusters are being created, reconciled
and watched ends the process with status 0 and nothing reported by the sanitizers (this suite also
runs against the ASan+UBSan build, where a use-after-free during teardown aborts the process)."""
import signal
import threading
import urllib.request

from reconcile_util import Magnumd, cluster, template, wait_for

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def stream_watch(m, stop):
    req = urllib.request.Request(m.url + "/apis/container-infra/v1/clusters?watch=true",
                                 headers={"Authorization": f"Bearer {m.token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            while not stop.is_set() and r.readline():
                pass
    except OSError:
        pass  # the server closing the stream is the point


def test_sigterm_while_busy_exits_cleanly(tmp_path, procs):
    m = Magnumd(tmp_path, procs)
    m.apply(template())
    for i in range(3):
        m.apply(cluster(f"c{i}", 1, 1))
    m.wait_phase("c0", "CREATE_COMPLETE", timeout=120)
    stop = threading.Event()
    watcher = threading.Thread(target=stream_watch, args=(m, stop), daemon=True)
    watcher.start()
    # In flight at the signal: a scale-up, a delete and a new cluster.
    m.patch("Cluster", "c1", {"spec": {"nodeCount": 3}})
    m.delete("Cluster", "c2")
    m.apply(cluster("c3", 1, 2))
    m.proc.proc.send_signal(signal.SIGTERM)
    code = m.proc.proc.wait(timeout=60)
    stop.set()
    watcher.join(timeout=10)
    out = m.proc.output()
    assert code == 0, out[-4000:]
    assert not [mark for mark in SANITIZER_MARKS if mark in out], out[-8000:]
    assert "store closed" in out
