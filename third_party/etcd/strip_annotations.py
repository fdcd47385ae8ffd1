#!/usr/bin/env python3
"""Strips etcd's .proto files of gogoproto and google.api annotations (Go-only code generation
and HTTP gateway hints), so stock protoc and grpc_cpp_plugin compile them without those imports.
Usage: strip_annotations.py < upstream.proto > stripped.proto"""
import re
import sys

text = sys.stdin.read()
text = re.sub(r'^import "gogoproto/gogo.proto";\n', '', text, flags=re.M)
text = re.sub(r'^import "google/api/annotations.proto";\n', '', text, flags=re.M)
text = re.sub(r'^option \(gogoproto\.[a-z_]+\) = [a-z]+;\n', '', text, flags=re.M)
# `rpc X(...) returns (...) { option (google.api.http) = { ... }; }` -> `rpc X(...) returns (...) {}`
# (one nesting level: some carry `additional_bindings { ... }`)
text = re.sub(r'\{\s*option \(google\.api\.http\) = \{(?:[^{}]|\{[^{}]*\})*\};\s*\}', '{}', text)
text = text.replace('import "etcd/mvcc/mvccpb/kv.proto";', 'import "mvccpb/kv.proto";')
text = text.replace('import "etcd/auth/authpb/auth.proto";', 'import "authpb/auth.proto";')
if re.search(r"gogoproto|google\.api", text):
    print([l for l in text.splitlines() if re.search(r"gogoproto|google\.api", l)], file=sys.stderr)
    sys.exit('strip_annotations.py: an annotation is left; extend the script')
sys.stdout.write(text)
