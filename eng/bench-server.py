#!/usr/bin/env python3
"""A loopback HTTP server for eng/bench.sh: answers every request with the bytes of one file,
sent with sendfile(2) so that the server is never the bottleneck of a throughput measurement.
Usage: bench-server.py PORT FILE"""
import os
import socket
import sys
import threading

port, path = int(sys.argv[1]), sys.argv[2]
size = os.path.getsize(path)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1024)  # section 7 opens 200 connections at once


def serve(client):
    with client:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                return
            head += data
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size)
        with open(path, "rb") as body:
            client.sendfile(body)


while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
