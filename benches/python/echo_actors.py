"""The seeds' echo actors for Thespian (Python), as the Rust bench runs them: exactly `count` pings."""

import datetime

from thespian.actors import ActorTypeDispatcher, requireCapability


class Ping:
    def __init__(self, payload):
        self.payload = payload


class Pong(Ping):
    pass


@requireCapability("Server")
class EchoServer(ActorTypeDispatcher):
    def receiveMsg_Ping(self, ping, sender):
        self.send(sender, Pong(ping.payload))


@requireCapability("Client")
class EchoRequestor(ActorTypeDispatcher):
    def __init__(self):
        self.pings_to_send = 0
        self.pongs_to_receive = 0
        self.time = None
        self.client = None
        super().__init__()

    def receiveMsg_int(self, count, _client):
        self.pings_to_send += count

    def receiveMsg_str(self, payload, client):
        self.client = client
        server = self.createActor(EchoServer)
        self.time = datetime.datetime.now()
        for _ in range(self.pings_to_send):
            self.send(server, Ping(payload))
        self.pongs_to_receive += self.pings_to_send
        self.pings_to_send = 0

    def receiveMsg_Pong(self, _pong, _server):
        self.pongs_to_receive -= 1
        if self.pongs_to_receive == 0:
            elapsed = datetime.datetime.now() - self.time
            self.send(self.client, "echo_done %f" % elapsed.total_seconds())
