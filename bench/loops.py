"""The syscall loops the overhead benchmarks time: `python3 bench/loops.py KIND N` runs N
iterations of KIND and prints the seconds they took (set-up excluded).

open     open and close /etc/hostname
exec     fork, exec /bin/true, wait
connect  a loopback TCP connect, accept and two closes
getppid  getppid (a syscall no rule watches)
setuid   setuid(0) (an event with no path to resolve)
"""
import os, sys, time

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "connect":
    # Only here: the seccomp benchmark records what the other loops call.
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    port = server.getsockname()[1]
start = time.perf_counter()
if kind == "open":
    for _ in range(n):
        os.close(os.open("/etc/hostname", os.O_RDONLY))
elif kind == "exec":
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/true", ["/bin/true"])
        os.waitpid(pid, 0)
elif kind == "connect":
    for _ in range(n):
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()
        client.close()
elif kind == "getppid":
    for _ in range(n):
        os.getppid()
elif kind == "setuid":
    for _ in range(n):
        os.setuid(0)
else:
    sys.exit(f"unknown loop {kind!r}: open, exec, connect, getppid or setuid")
print(time.perf_counter() - start)
