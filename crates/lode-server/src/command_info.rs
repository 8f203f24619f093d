//! COMMAND's replies (INFO, DOCS, LIST, COUNT) in Redis 7.0's shapes, built from the command
//! table ([`crate::command::all`]) plus the subcommands of the container commands (CONFIG,
//! COMMAND, CLIENT, SLOWLOG), which the table does not list because one handler serves each
//! container.
//!
//! ACL categories are derived as Redis derives the implicit ones (from flags), plus the
//! family's category; key specs are derived from the (first, last, step) key positions.

use crate::command::{self, CommandSpec, flags::*};
use bytes::Bytes;
use lode_resp::Reply;

/// A subcommand of a container command, as COMMAND INFO shows it (`config|get`).
#[derive(Debug)]
pub(crate) struct Subcommand {
    pub parent: &'static str,
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
}

const fn sub(parent: &'static str, name: &'static str, arity: i32, flags: u32) -> Subcommand {
    Subcommand { parent, name, arity, flags }
}

/// The subcommands Lode's container commands implement (Redis 7.0's arity and flags).
pub(crate) const SUBCOMMANDS: &[Subcommand] = &[
    sub("client", "getname", 2, LOADING | STALE),
    sub("client", "help", 2, LOADING | STALE),
    sub("client", "id", 2, LOADING | STALE),
    sub("client", "info", 2, LOADING | STALE),
    sub("client", "kill", -3, ADMIN | LOADING | STALE),
    sub("client", "list", -2, ADMIN | LOADING | STALE),
    sub("client", "no-evict", 3, ADMIN | LOADING | STALE),
    sub("client", "setname", 3, LOADING | STALE),
    sub("command", "count", 2, LOADING | STALE),
    sub("command", "docs", -2, LOADING | STALE),
    sub("command", "getkeys", -4, LOADING | STALE),
    sub("command", "help", 2, LOADING | STALE),
    sub("command", "info", -2, LOADING | STALE),
    sub("command", "list", -2, LOADING | STALE),
    sub("config", "get", -3, ADMIN | LOADING | STALE),
    sub("config", "help", 2, LOADING | STALE),
    sub("config", "resetstat", 2, ADMIN | LOADING | STALE),
    sub("config", "rewrite", 2, ADMIN | LOADING | STALE),
    sub("config", "set", -4, ADMIN | LOADING | STALE),
    sub("slowlog", "get", -2, ADMIN | LOADING | STALE),
    sub("slowlog", "help", 2, LOADING | STALE),
    sub("slowlog", "len", 2, ADMIN | LOADING | STALE),
    sub("slowlog", "reset", 2, ADMIN | LOADING | STALE),
];

/// Redis 7.0's summary and complexity, for the commands whose docs Lode reproduces.
const DOCS_7_0: &[(&str, &str, &str)] = &[
    ("get", "Get the value of a key", "O(1)"),
    ("set", "Set the string value of a key", "O(1)"),
    ("setnx", "Set the value of a key, only if the key does not exist", "O(1)"),
    ("setex", "Set the value and expiration of a key", "O(1)"),
    ("psetex", "Set the value and expiration in milliseconds of a key", "O(1)"),
    ("getset", "Set the string value of a key and return its old value", "O(1)"),
    ("getdel", "Get the value of a key and delete the key", "O(1)"),
    ("getex", "Get the value of a key and optionally set its expiration", "O(1)"),
    (
        "mget",
        "Get the values of all the given keys",
        "O(N) where N is the number of keys to retrieve.",
    ),
    ("mset", "Set multiple keys to multiple values", "O(N) where N is the number of keys to set."),
    (
        "msetnx",
        "Set multiple keys to multiple values, only if none of the keys exist",
        "O(N) where N is the number of keys to set.",
    ),
    ("strlen", "Get the length of the value stored in a key", "O(1)"),
    ("incr", "Increment the integer value of a key by one", "O(1)"),
    ("decr", "Decrement the integer value of a key by one", "O(1)"),
    ("incrby", "Increment the integer value of a key by the given amount", "O(1)"),
    ("decrby", "Decrement the integer value of a key by the given number", "O(1)"),
    ("incrbyfloat", "Increment the float value of a key by the given amount", "O(1)"),
];

/// The complexity of Lode's own commands (its extensions), for COMMAND DOCS.
const LODE_COMPLEXITY: &[(&str, &str)] = &[("krange", crate::commands::krange::COMPLEXITY)];

/// The ACL categories Redis 7.0 prints, in its order (the bit order of its category table).
const CATEGORY_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@hash",
    "@list",
    "@string",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
];

fn categories(flags: u32, group: &str) -> Vec<&'static str> {
    let mut set = vec![match group {
        "string" => "@string",
        "hash" => "@hash",
        "set" => "@set",
        "generic" => "@keyspace",
        "transactions" => "@transaction",
        "connection" => "@connection",
        "list" => "@list",
        _ => "",
    }];
    if flags & WRITE != 0 {
        set.push("@write");
    }
    if flags & READONLY != 0 {
        set.push("@read");
    }
    if flags & ADMIN != 0 {
        set.extend(["@admin", "@dangerous"]);
    }
    set.push(if flags & FAST != 0 { "@fast" } else { "@slow" });
    if flags & BLOCKING != 0 {
        set.push("@blocking");
    }
    CATEGORY_ORDER.iter().copied().filter(|c| set.contains(c)).collect()
}

fn words(items: Vec<&'static str>) -> Reply {
    Reply::Set(items.into_iter().map(|s| Reply::Simple(Bytes::from_static(s.as_bytes()))).collect())
}

fn bulk_map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(pairs.into_iter().map(|(k, v)| (Reply::bulk(k), v)).collect())
}

/// One key spec from (first, last, step): begin at index `first`, a range to `last`.
fn key_specs(spec: &CommandSpec) -> Reply {
    let (first, last, step) = spec.keys;
    if first == 0 {
        return Reply::Array(Vec::new());
    }
    let access = if spec.flags & WRITE != 0 { vec!["RW", "UPDATE"] } else { vec!["RO", "ACCESS"] };
    let lastkey = if last < 0 { last } else { last - first };
    Reply::Array(vec![bulk_map(vec![
        ("flags", words(access)),
        (
            "begin_search",
            bulk_map(vec![
                ("type", Reply::bulk("index")),
                ("spec", bulk_map(vec![("index", Reply::Integer(first.into()))])),
            ]),
        ),
        (
            "find_keys",
            bulk_map(vec![
                ("type", Reply::bulk("range")),
                (
                    "spec",
                    bulk_map(vec![
                        ("lastkey", Reply::Integer(lastkey.into())),
                        ("keystep", Reply::Integer(step.into())),
                        ("limit", Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

fn subcommand_info(sub: &Subcommand) -> Reply {
    let flags = CommandSpec::flag_words(sub.flags);
    Reply::Array(vec![
        Reply::bulk(format!("{}|{}", sub.parent, sub.name)),
        Reply::Integer(sub.arity.into()),
        words(flags),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Integer(0),
        words(categories(sub.flags, "")),
        Reply::Set(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// COMMAND INFO's entry for one command: Redis 7's ten fields.
pub(crate) fn info(spec: &CommandSpec) -> Reply {
    Reply::Array(vec![
        Reply::bulk(spec.name),
        Reply::Integer(spec.arity.into()),
        words(spec.flag_names()),
        Reply::Integer(spec.keys.0.into()),
        Reply::Integer(spec.keys.1.into()),
        Reply::Integer(spec.keys.2.into()),
        words(categories(spec.flags, spec.group)),
        Reply::Set(Vec::new()),
        key_specs(spec),
        Reply::Array(
            SUBCOMMANDS.iter().filter(|s| s.parent == spec.name).map(subcommand_info).collect(),
        ),
    ])
}

/// COMMAND INFO's entry for `name` (a command or `parent|sub`), null if there is none.
pub(crate) fn info_by_name(name: &[u8]) -> Reply {
    if let Some(spec) = command::lookup(name) {
        return info(spec);
    }
    find_subcommand(name).map_or(Reply::NullArray, subcommand_info)
}

fn find_subcommand(name: &[u8]) -> Option<&'static Subcommand> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let (parent, sub) = name.split_once('|')?;
    SUBCOMMANDS.iter().find(|s| s.parent == parent && s.name == sub)
}

/// COMMAND DOCS's entry for one command.
pub(crate) fn docs(spec: &CommandSpec) -> Reply {
    let known = DOCS_7_0.iter().find(|(name, _, _)| *name == spec.name);
    let mut pairs = vec![
        ("summary", Reply::bulk(known.map_or(spec.summary, |d| d.1))),
        ("since", Reply::bulk(spec.since)),
        ("group", Reply::bulk(spec.group)),
    ];
    let lode_complexity = LODE_COMPLEXITY.iter().find(|(name, _)| *name == spec.name);
    if let Some(complexity) = known.map(|d| d.2).or(lode_complexity.map(|d| d.1)) {
        pairs.push(("complexity", Reply::bulk(complexity)));
    }
    bulk_map(pairs)
}

/// COMMAND LIST's names: every command, then every subcommand as `parent|sub`.
pub(crate) fn names() -> Vec<String> {
    command::all()
        .map(|s| s.name.to_string())
        .chain(SUBCOMMANDS.iter().map(|s| format!("{}|{}", s.parent, s.name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_redis_order() {
        assert_eq!(categories(READONLY | FAST, "string"), ["@read", "@string", "@fast"]);
        assert_eq!(categories(WRITE | DENYOOM, "string"), ["@write", "@string", "@slow"]);
        assert_eq!(categories(ADMIN, "server"), ["@admin", "@slow", "@dangerous"]);
        assert_eq!(categories(WRITE | BLOCKING, "list"), ["@write", "@list", "@slow", "@blocking"]);
    }

    #[test]
    fn every_subcommand_parent_is_a_command_and_names_are_unique() {
        for s in SUBCOMMANDS {
            assert!(command::lookup(s.parent.as_bytes()).is_some(), "{}", s.parent);
        }
        let names = names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }

    #[test]
    fn docs_table_names_only_commands() {
        for (name, _, _) in DOCS_7_0 {
            assert!(command::lookup(name.as_bytes()).is_some(), "{name}");
        }
        for (name, _) in LODE_COMPLEXITY {
            assert!(command::lookup(name.as_bytes()).is_some(), "{name}");
        }
    }
}
