# tests/hosted/workloads/workload.py: allocation-heavy Python whose output does not depend on the
# allocator. Run with PYTHONMALLOC=malloc so that every object comes from malloc.
import hashlib
import json
import re
import sys
import threading

scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1

records = [{"id": i, "name": "n%06d" % (i * 7919 % 100003), "tags": list(range(i % 7))}
           for i in range(30000 * scale)]
encoded = json.dumps(records)
decoded = json.loads(encoded)
print("json", len(encoded), len(decoded), decoded[-1]["name"])

names = sorted(r["name"] for r in decoded)
index = {name: position for position, name in enumerate(names)}
print("names", names[0], names[-1], len(index))

words = re.findall(r"n0*([1-9][0-9]*)", encoded)
print("regex", len(words), sum(map(int, words[:1000])))

blob = bytearray()
for i in range(10000 * scale):
    blob += str(i).encode() * (i % 13)
print("blob", len(blob), hashlib.sha256(blob).hexdigest()[:16])

results = [0] * 4

def work(slot):
    total = 0
    for i in range(15000 * scale):
        total += len(str(i) * (i % 9)) + len([i] * (i % 5))
    results[slot] = total

threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("threads", results)
