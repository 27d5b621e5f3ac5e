"""Example function: totals an order (its real job), with a poisoned
dependency among its imports."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))

import fastjson_utils  # noqa: E402  (the dependency; see vendor/)


def handler(event, context=None):
    total = sum(i["qty"] * i["price"] for i in event["items"])
    print(f"handler: order {event['id']} total {total:.2f}", flush=True)
    return fastjson_utils.dumps({"id": event["id"], "total": total})


if __name__ == "__main__":
    event = {"id": "o-1042", "items": [{"qty": 2, "price": 9.5}, {"qty": 1, "price": 3.0}]}
    print("handler: response", handler(event), flush=True)
    print("handler: done", flush=True)
