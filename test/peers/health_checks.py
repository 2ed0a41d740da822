"""gRPC health checks by grpcio's own client (grpcio-health-checking), not ours.

  health_checks.py check --target HOST:PORT --service NAME [--service NAME ...]
      one Check per name
  health_checks.py watch --target HOST:PORT --service NAME [--service NAME ...]
      one Watch per name, all at once; every status as it arrives, then how the stream ended

Prints one JSON line per answer, flushed at once (the test reads them while the server runs):
{"service", "status"} for a status, {"service", "code", "details"} for an error status, and for
Watch {"service", "end": "OK"} when the server ended the stream cleanly.
"""

import argparse
import json
import sys
import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

lock = threading.Lock()


def emit(record):
    with lock:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def status_name(response):
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def check(stub, service, timeout):
    try:
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        emit({"service": service, "status": status_name(response)})
    except grpc.RpcError as error:
        emit({"service": service, "code": error.code().name, "details": error.details()})


def watch(stub, service, timeout):
    try:
        for response in stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=timeout):
            emit({"service": service, "status": status_name(response)})
        emit({"service": service, "end": "OK"})
    except grpc.RpcError as error:
        emit({"service": service, "code": error.code().name, "details": error.details()})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["check", "watch"])
    parser.add_argument("--target", required=True)
    parser.add_argument("--service", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    with grpc.insecure_channel(args.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        if args.mode == "check":
            for service in args.service:
                check(stub, service, args.timeout)
            return
        threads = [threading.Thread(target=watch, args=(stub, s, args.timeout)) for s in args.service]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    main()
