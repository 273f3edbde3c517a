#!/usr/bin/env python3
"""Smoke test and throughput check of a running `rocmforge serve` (standard library only).

  serve_smoke.py PORT [N_CLIENTS] [MAX_TOKENS]

1. Greedy completions of N prompts sent one at a time, then all at once: each concurrent text must
   start with the first 8 tokens' text of its lone run (batched steps round differently, so a
   continuation may part at a near tie, even early in a tiny model's text: docs/server_notes.md);
   fewer than half starting alike fails (a scheduling fault changes nearly all); how many agree
   throughout is printed.
2. A streamed chat completion and a streamed Anthropic message: the streamed text must equal the
   whole reply's.
3. Aggregate generation speed: N concurrent requests of MAX_TOKENS (ignore_eos) against one,
   as tokens/s over the wall time. Exit status 1 on any mismatch.
"""
import json
import sys
import threading
import time
import urllib.request

port = int(sys.argv[1])
n_clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8
max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 128
base = f"http://127.0.0.1:{port}"


def post(path, body, stream=False):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        text = r.read().decode()
    if not stream:
        return json.loads(text)
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


prompts = [f"Story {i}: once upon a time" if i % 2 else f"The number {i} is" for i in range(n_clients)]
ok = True

seq = [post("/v1/completions", {"prompt": p, "max_tokens": 32, "temperature": 0})["choices"][0]["text"] for p in prompts]
par = [None] * n_clients


def worker(i):
    par[i] = post("/v1/completions", {"prompt": prompts[i], "max_tokens": 32, "temperature": 0})["choices"][0]["text"]


threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_clients)]
[t.start() for t in threads]
[t.join() for t in threads]
same = sum(a == b for a, b in zip(seq, par))
first8 = [post("/v1/completions", {"prompt": p, "max_tokens": 8, "temperature": 0})["choices"][0]["text"] for p in prompts]
start = sum(b.startswith(a) for a, b in zip(first8, par))
print(f"greedy: {start}/{n_clients} concurrent texts start as the lone ones (8 tokens); {same}/{n_clients} equal throughout")
ok &= 2 * start >= n_clients

chat = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 24, "temperature": 0}
whole = post("/v1/chat/completions", chat)["choices"][0]["message"]["content"]
events = post("/v1/chat/completions", dict(chat, stream=True), stream=True)
streamed = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1] if json.loads(e)["choices"])
print(f"chat stream equals whole reply: {streamed == whole} ({len(events)} events, last {events[-1]!r})")
ok &= streamed == whole and events[-1] == "[DONE]"

msg = {"max_tokens": 24, "temperature": 0, "messages": [{"role": "user", "content": "Hello"}]}
whole = post("/v1/messages", msg)["content"][0]["text"]
events = [json.loads(e) for e in post("/v1/messages", dict(msg, stream=True), stream=True)]
streamed = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
print(f"messages stream equals whole reply: {streamed == whole}; events {[e['type'] for e in events][:3]} ... {events[-1]['type']}")
ok &= streamed == whole


def timed(n):
    done = [0] * n

    def w(i):
        r = post("/v1/completions", {"prompt": prompts[i % len(prompts)], "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True})
        done[i] = r["usage"]["completion_tokens"]

    t0 = time.time()
    ts = [threading.Thread(target=w, args=(i,)) for i in range(n)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    dt = time.time() - t0
    return sum(done), dt


for n in (1, n_clients):
    toks, dt = timed(n)
    print(f"{n} concurrent request(s) x {max_tokens} tokens: {toks} tokens in {dt:.3f} s = {toks / dt:.1f} tokens/s")
status = json.loads(urllib.request.urlopen(base + "/status").read())
print("status:", json.dumps({k: status[k] for k in ("backend", "scheduler", "kv_cache", "memory")}))
sys.exit(0 if ok else 1)
