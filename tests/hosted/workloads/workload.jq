# tests/hosted/workloads/workload.jq: jq building, grouping and serialising a large document.
# Run as: jq -n -f workload.jq
[range(0; 20000) | {id: ., name: "item-\(. * 7919 % 20000)", tags: [range(0; . % 5) | tostring]}]
| (group_by(.tags | length) | map({tags: (.[0].tags | length), count: length})) as $groups
| (map(.name) | sort | .[0:3]) as $first
| (map(select(.id % 1000 == 0) | .name | ascii_upcase) | join(",")) as $names
| (tojson | fromjson | length) as $round_trip
| (map(.tags | join("")) | add | length) as $joined
| {$groups, $first, $names, $round_trip, $joined}
