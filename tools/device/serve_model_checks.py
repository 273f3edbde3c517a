#!/usr/bin/env python3
"""Model load / unload and the hybrid prefix cache against a running `rocmforge serve --models-dir DIR`
(standard library only; written for the GPU backend, where the CPU tests cannot reach).

  serve_model_checks.py PORT HYBRID_NAME DENSE_NAME [REFERENCE_PORT]

1. GET /models lists both files; DENSE_NAME is loaded; the same greedy completion twice is the same text.
2. A long stream is cut by POST /models/load HYBRID_NAME: it ends with an error naming the unload; the
   used VRAM (GET /status) after the swap is printed beside the dense model's.
3. Two chat turns on the hybrid model: the second extends the first's prompt + reply, so the prefix cache
   must count a hit (GET /metrics) with reused tokens; with REFERENCE_PORT (a server of the same model
   with --prefix-cache 0) the second reply's text is compared with the reference's.
4. POST /models/unload: completions answer 503 (the caller reads nvidia-smi for the memory given back).
Exit status 1 on any failure.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

port, hybrid, dense = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ref_port = int(sys.argv[4]) if len(sys.argv) > 4 else None
ok = True


def call(path, body=None, p=port):
    """(status, text) of a GET (body None) or a JSON POST."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{p}{path}", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def check(what, cond, detail=""):
    global ok
    ok &= bool(cond)
    print(f"{'ok ' if cond else 'FAIL'} {what} {detail}")


def vram_used(p=port):
    s, t = call("/status", p=p)
    return json.loads(t)["memory"].get("vram", {}).get("used_bytes") if s == 200 else None


def metric(name):
    for line in call("/metrics")[1].splitlines():
        if line.startswith(f"rocmforge:{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    return None


s, t = call("/models")
names = [m["id"] for m in json.loads(t)["data"]] if s == 200 else []
check("GET /models lists both files", hybrid in names and dense in names, str(names))
s, t = call("/models/load", {"model": dense})
check(f"load {dense}", s == 200, t[:200])
used_dense = vram_used()
req = {"prompt": "The Python interpreter", "max_tokens": 32, "temperature": 0}
a, b = (json.loads(call("/v1/completions", req)[1])["choices"][0]["text"] for _ in range(2))
check("the same greedy completion twice", a == b, repr(a[:60]))

# a long stream, cut by the next load
stream_text = {}


def long_stream():
    body = {"prompt": "Once upon a time", "max_tokens": 4000, "temperature": 0, "ignore_eos": True, "stream": True}
    stream_text["v"] = call("/v1/completions", body)[1]


th = threading.Thread(target=long_stream)
th.start()
while (metric("generation_tokens_total") or 0) < 64:
    time.sleep(0.01)
s, t = call("/models/load", {"model": hybrid})
th.join()
check(f"load {hybrid} while a stream runs", s == 200, t[:200])
check("the cut stream ends with an error naming the unload", "unloaded" in stream_text["v"][-400:], repr(stream_text["v"][-200:]))
used_hybrid = vram_used()
print(f"VRAM used: {dense} {used_dense}, then {hybrid} {used_hybrid}")

# the hybrid prefix cache: turn 2 extends turn 1's prompt + reply
turn1 = [{"role": "user", "content": "Tell me a short story about a fox."}]
r1 = json.loads(call("/v1/chat/completions", {"messages": turn1, "max_tokens": 40, "temperature": 0})[1])
reply1 = r1["choices"][0]["message"]["content"]
turn2 = turn1 + [{"role": "assistant", "content": reply1}, {"role": "user", "content": "And then?"}]
hits0, reused0 = metric("prefix_cache_hits_total"), metric("prefix_cache_reused_tokens_total")
body2 = {"messages": turn2, "max_tokens": 40, "temperature": 0}
r2 = json.loads(call("/v1/chat/completions", body2)[1])
hits, reused = metric("prefix_cache_hits_total") - hits0, metric("prefix_cache_reused_tokens_total") - reused0
check("the second chat turn hits the prefix cache", hits == 1 and reused > 0,
      f"hits +{hits:.0f}, reused +{reused:.0f} of {r2['usage']['prompt_tokens']} prompt tokens")
if ref_port is not None:
    ref1 = json.loads(call("/v1/chat/completions", {"messages": turn1, "max_tokens": 40, "temperature": 0}, p=ref_port)[1])
    check("turn 1 equals the reference server's", ref1["choices"][0]["message"]["content"] == reply1)
    ref2 = json.loads(call("/v1/chat/completions", body2, p=ref_port)[1])["choices"][0]["message"]["content"]
    got2 = r2["choices"][0]["message"]["content"]
    n = next((i for i, (x, y) in enumerate(zip(got2, ref2)) if x != y), min(len(got2), len(ref2)))
    # a reused prefix computes the suffix as its own chunk: a near tie may part the texts late
    check("turn 2 (prefix reused) starts as the reference's (no prefix cache)", n >= min(24, len(ref2)),
          f"agree on {n} of {len(ref2)} characters")

s, t = call("/models/unload", {"model": hybrid})
check(f"unload {hybrid}", s == 200, t[:120])
s, t = call("/v1/completions", req)
check("a completion without a model answers 503", s == 503, t[:160])
sys.exit(0 if ok else 1)
