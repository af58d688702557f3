"""The seeds' distributed echo under Thespian (Python), multiprocTCPBase, two systems on loopback.

    python echo_convention.py <server port> <client port> <pings> [<pings> ...]

Prints `echo pings=<n> seconds=<s>` for each count (the time the requestor measured, from its
first ping to its last pong), then stops both systems.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from thespian.actors import ActorSystem  # noqa: E402


def server(port):
    ActorSystem("multiprocTCPBase", {
        "Server": True,
        "Admin Port": port,
        "Convention Address.IPv4": ("127.0.0.1", port),
    })


def main():
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
        return
    server_port, client_port = int(sys.argv[1]), int(sys.argv[2])
    counts = [int(c) for c in sys.argv[3:]]
    subprocess.run([sys.executable, os.path.abspath(__file__), "server", str(server_port)], check=True)
    client = ActorSystem("multiprocTCPBase", {
        "Client": True,
        "Admin Port": client_port,
        "Convention Address.IPv4": ("127.0.0.1", server_port),
    })
    from echo_actors import EchoRequestor
    # The echo server can be placed only once the client has registered with the server.
    time.sleep(3)
    try:
        for count in counts:
            requestor = client.createActor(EchoRequestor)
            client.tell(requestor, count)
            reply = client.ask(requestor, "ping payload", 3600)
            if not reply or not str(reply).startswith("echo_done"):
                print("echo pings=%d failed: %r" % (count, reply))
                continue
            print("echo pings=%d seconds=%s" % (count, str(reply).split()[1]), flush=True)
    finally:
        client.shutdown()
        ActorSystem("multiprocTCPBase", {"Admin Port": server_port}).shutdown()


if __name__ == "__main__":
    main()
