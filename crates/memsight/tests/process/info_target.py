# A process with known properties for the info tests. Run with cwd set to a fresh directory and
# the environment the test chose. Prints one JSON line of what it set up, then waits until its
# stdin closes.
import json, os, resource, socket, sys, threading

os.nice(5)
resource.setrlimit(resource.RLIMIT_NOFILE, (100, 200))

f = open("data.bin", "w+b")
f.write(b"x" * 1234)
f.flush()
appended = open("log.txt", "a")

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(1)

sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 0))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.connect(sink.getsockname())

listener6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
listener6.bind(("::1", 0))
listener6.listen(1)

unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind(os.path.realpath("sock"))
unix.listen(1)

ready = threading.Barrier(3)
stop = threading.Event()
tids = []

def worker():
    tids.append(threading.get_native_id())
    ready.wait()
    stop.wait()

threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
ready.wait()

print(json.dumps({
    "file": os.path.realpath("data.bin"), "file_fd": f.fileno(), "file_pos": f.tell(),
    "log": os.path.realpath("log.txt"), "log_fd": appended.fileno(),
    "listen_fd": listener.fileno(), "listen_port": listener.getsockname()[1],
    "udp_fd": udp.fileno(), "udp_port": udp.getsockname()[1],
    "sink_fd": sink.fileno(), "sink_port": sink.getsockname()[1],
    "listen6_fd": listener6.fileno(), "listen6_port": listener6.getsockname()[1],
    "unix_fd": unix.fileno(), "unix_path": os.path.realpath("sock"),
    "tids": sorted(tids + [threading.get_native_id()]),
}), flush=True)
sys.stdin.read()
stop.set()
