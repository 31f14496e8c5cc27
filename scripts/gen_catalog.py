#!/usr/bin/env python3
"""Regenerates src/db/catalog/{table,doc_table}.rs from a running redis-server.

    redis-server --port 7390 --save '' &
    python3 scripts/gen_catalog.py 7390

The catalog holds what Redis's COMMAND INFO and COMMAND DOCS report for
every command of the `Db` table (found by reading src/db) plus the
server-level commands listed below; container commands bring all their
subcommands. Values are read from the server's replies, not from its source.
"""
import os
import re
import socket
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SERVER_COMMANDS = (
    "ping echo quit reset hello auth select client command info config dbsize flushdb flushall save bgsave "
    "lastsave slowlog time shutdown monitor multi exec discard watch unwatch subscribe psubscribe unsubscribe "
    "punsubscribe acl memory move swapdb"
).split()
FLAGS = [
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading", "stale",
    "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "may_replicate", "no_mandatory_keys",
    "no_async_loading", "no_multi", "movablekeys", "allow_busy",
]
CATEGORIES = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
    "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
]
KEY_FLAGS = ["RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
             "variable_flags"]
# Where embercache follows a later Redis than the server the tables are read
# from (7.0): ZRANK/ZREVRANK take Redis 7.2's WITHSCORE option.
WITHSCORE = ["name", "withscore", "type", "pure-token", "token", "WITHSCORE", "since", "7.2.0", "flags", ["optional"]]
OVERRIDES = {
    "zrank": {"arity": -3, "arg": WITHSCORE, "history": ["7.2.0", "Added the optional `WITHSCORE` argument."]},
    "zrevrank": {"arity": -3, "arg": WITHSCORE, "history": ["7.2.0", "Added the optional `WITHSCORE` argument."]},
}
ARG_KINDS = {"string": "Str", "integer": "Integer", "double": "Double", "key": "Key", "pattern": "Pattern",
             "unix-time": "UnixTime", "pure-token": "PureToken", "oneof": "OneOf", "block": "Block"}
ARG_FLAGS = {"optional": "doc::OPTIONAL", "multiple": "doc::MULTIPLE", "multiple_token": "doc::MULTIPLE_TOKEN"}


class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.file.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def lit(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def opt(s):
    return "None" if s is None else f"Some({lit(s)})"


def bits(names, table, prefix):
    out = [f"{prefix}::{n.upper()}" for n in table if n in names]
    unknown = set(names) - set(table)
    if unknown:
        sys.exit(f"unknown names {unknown}")
    return " | ".join(out) if out else "0"


def key_spec(ks):
    ks = pairs(ks)
    bs, fk = pairs(ks["begin_search"]), pairs(ks["find_keys"])
    bspec, fspec = pairs(bs["spec"]), pairs(fk["spec"])
    if bs["type"] == "index":
        begin = f"Index({bspec['index']})"
    elif bs["type"] == "keyword":
        begin = f"Keyword {{ keyword: {lit(bspec['keyword'])}, start_from: {bspec['startfrom']} }}"
    else:
        begin = "BeginSearch::Unknown"
    if fk["type"] == "range":
        find = f"Range {{ last_key: {fspec['lastkey']}, key_step: {fspec['keystep']}, limit: {fspec['limit']} }}"
    elif fk["type"] == "keynum":
        find = (f"KeyNum {{ key_num_idx: {fspec['keynumidx']}, first_key: {fspec['firstkey']}, "
                f"key_step: {fspec['keystep']} }}")
    else:
        find = "FindKeys::Unknown"
    flags = bits(ks["flags"], KEY_FLAGS, "key")
    return f"KeySpec {{ flags: {flags}, begin: {begin}, find: {find}, notes: {lit(ks.get('notes', ''))} }}"


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    r = Resp(port)
    version = pairs([x for x in r.cmd("HELLO", "2")])["version"]
    info = {c[0]: c for c in r.cmd("COMMAND", "INFO")}
    docs = pairs(r.cmd("COMMAND", "DOCS"))
    db_names = set()
    for path in subprocess.check_output(["git", "ls-files", "src/db"], cwd=ROOT, text=True).split():
        with open(os.path.join(ROOT, path)) as f:
            db_names.update(re.findall(r'Command \{ name: "([a-z_]+)"', f.read()))
    names = sorted(db_names | set(SERVER_COMMANDS))
    for name, o in OVERRIDES.items():
        if o["arity"] == info[name][1]:
            sys.exit(f"{name}: the override is no longer needed")
        info[name][1] = o["arity"]
        d = pairs(docs[name])
        d["arguments"] = d.get("arguments", []) + [o["arg"]]
        d["history"] = d.get("history", []) + [o["history"]]
        docs[name] = [x for kv in d.items() for x in kv]
    missing = [n for n in names if n not in info]
    if missing:
        sys.exit(f"not known to this redis-server: {missing}")

    next_id = [0]
    doc_rows = []  # (id, full name, doc dict)

    def spec(c, depth, doc):
        cid = next_id[0]
        next_id[0] += 1
        doc_rows.append((cid, c[0], doc))
        name, arity, flags, first, last, step, cats, tips, specs, subs = c
        pad = "    " * depth
        head = (f"{pad}CommandSpec {{ id: {cid}, name: {lit(name)}, arity: {arity}, "
                f"flags: {bits(flags, FLAGS, 'flag')}, first_key: {first}, last_key: {last}, step: {step}, "
                f"categories: {bits([x[1:] for x in cats], CATEGORIES, 'cat')}, "
                f"tips: &[{', '.join(lit(t) for t in tips)}],")
        lines = [head]
        if specs:
            lines.append(f"{pad}    key_specs: &[")
            lines += [f"{pad}        {key_spec(ks)}," for ks in specs]
            lines.append(f"{pad}    ],")
        else:
            lines.append(f"{pad}    key_specs: &[],")
        subdocs = pairs(doc.get("subcommands", []))
        if subs:
            lines.append(f"{pad}    subcommands: &[")
            for s in sorted(subs, key=lambda s: s[0]):
                lines += spec(s, depth + 2, pairs(subdocs[s[0]]))
            lines.append(f"{pad}    ],")
        else:
            lines.append(f"{pad}    subcommands: &[],")
        lines.append(f"{pad}}},")
        return lines

    body = []
    for n in names:
        body += spec(info[n], 1, pairs(docs[n]))
    count = next_id[0]
    header = (f"// @generated by scripts/gen_catalog.py from Redis {version}'s COMMAND INFO; regenerate, do not edit.\n"
              "//! The commands' metadata, in name order (subcommands inside their container).\n\n")
    table = (header +
             "use super::BeginSearch::Index;\nuse super::FindKeys::{KeyNum, Range};\n"
             "use super::{CommandSpec, KeySpec, cat, flag, key};\n\n"
             f"/// How many commands and subcommands the catalog holds (ids are `0..COUNT`).\n"
             f"pub const COUNT: usize = {count};\n\n"
             "#[rustfmt::skip]\npub(super) static COMMANDS: &[CommandSpec] = &[\n" + "\n".join(body) + "\n];\n")
    with open(os.path.join(ROOT, "src/db/catalog/table.rs"), "w") as f:
        f.write(table)

    def args(a, depth):
        out = []
        for x in a:
            x = pairs(x)
            fields = [f"name: {lit(x['name'])}", f"kind: {ARG_KINDS[x['type']]}"]
            if "key_spec_index" in x:
                fields.append(f"key_spec_index: Some({x['key_spec_index']})")
            for field in ("token", "since", "deprecated_since"):
                if field in x:
                    fields.append(f"{field}: Some({lit(x[field])})")
            if x.get("flags"):
                fields.append("flags: " + " | ".join(ARG_FLAGS[f] for f in x["flags"]))
            pad = "    " * depth
            if x.get("arguments"):
                out.append(f"{pad}Arg {{ {', '.join(fields)}, args: &[")
                out += args(x["arguments"], depth + 1)
                out.append(f"{pad}], ..doc::ARG }},")
            else:
                out.append(f"{pad}Arg {{ {', '.join(fields)}, ..doc::ARG }},")
        return out

    dbody = []
    for cid, name, d in doc_rows:
        fields = [f"summary: {lit(d.get('summary', ''))}", f"since: {lit(d.get('since', ''))}",
                  f"group: {lit(d.get('group', ''))}", f"complexity: {lit(d.get('complexity', ''))}"]
        dflags = d.get("doc_flags", [])
        if dflags:
            fields.append("doc_flags: " + " | ".join(f"doc::{f.upper()}" for f in dflags))
        for field in ("deprecated_since", "replaced_by"):
            if field in d:
                fields.append(f"{field}: Some({lit(d[field])})")
        if d.get("history"):
            fields.append("history: &[" + ", ".join(f"({lit(v)}, {lit(t)})" for v, t in d["history"]) + "]")
        dbody.append(f"    // {cid}: {name}")
        if d.get("arguments"):
            dbody.append(f"    CommandDoc {{ {', '.join(fields)}, arguments: &[")
            dbody += args(d["arguments"], 2)
            dbody.append("    ], ..doc::DOC },")
        else:
            dbody.append(f"    CommandDoc {{ {', '.join(fields)}, ..doc::DOC }},")
    docs_rs = (header.replace("COMMAND INFO", "COMMAND DOCS").replace(
        "The commands' metadata, in name order (subcommands inside their container).",
        "The commands' documentation (COMMAND DOCS), indexed by command id.") +
               "use super::doc::{self, Arg, ArgKind::*, CommandDoc};\nuse super::table::COUNT;\n\n"
               "#[rustfmt::skip]\npub(super) static DOCS: [CommandDoc; COUNT] = [\n" + "\n".join(dbody) + "\n];\n")
    with open(os.path.join(ROOT, "src/db/catalog/doc_table.rs"), "w") as f:
        f.write(docs_rs)
    print(f"{len(names)} commands, {count} with subcommands")


if __name__ == "__main__":
    main()
