//! The SQLite and PostgreSQL migrations make the same schema: the same tables, columns (type class and
//! nullability) and indexes. Needs a PostgreSQL server (HANDOVER_TEST_POSTGRES, as in CI's second run).

use std::collections::{BTreeMap, BTreeSet};

use handover_broker::store::Store;
use sqlx::{AnyConnection, Connection, Row};

use crate::helpers::fresh_postgres_database;

/// Differences the comparison finds that are accepted, each with the reason.
const ACCEPTED: &[&str] = &[
    // SQLite lets a TEXT PRIMARY KEY of a rowid table hold NULL (an old bug it keeps for compatibility,
    // https://sqlite.org/lang_createtable.html#the_primary_key); PostgreSQL makes key columns NOT NULL. The
    // broker always supplies these keys. Declaring them NOT NULL means rebuilding these tables, which other
    // tables reference with foreign keys (some ON DELETE CASCADE) that SQLite cannot switch off inside a
    // migration's transaction: a risk to the data for no change in what the broker does.
    "api_tokens: column token_id text null on SQLite, text not null on PostgreSQL",
    "broker_state: column key text null on SQLite, text not null on PostgreSQL",
    "deliveries: column delivery_id text null on SQLite, text not null on PostgreSQL",
    "messages: column tracking_id text null on SQLite, text not null on PostgreSQL",
    "organizations: column org_id text null on SQLite, text not null on PostgreSQL",
    "receipts: column receipt_id text null on SQLite, text not null on PostgreSQL",
];

#[tokio::test]
async fn sqlite_and_postgres_migrations_make_the_same_schema() {
    let Ok(server) = std::env::var("HANDOVER_TEST_POSTGRES") else {
        eprintln!("schema comparison skipped: set HANDOVER_TEST_POSTGRES=postgres://user:password@host:port");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}/schema.db", dir.path().display());
    let postgres_url = fresh_postgres_database(&server).await;
    for url in [&sqlite_url, &postgres_url] {
        Store::open(url, 1, 1).await.expect("migrations applied").close().await;
    }

    let differences = differences(&sqlite_schema(&sqlite_url).await, &postgres_schema(&postgres_url).await);
    let unexpected: Vec<&String> = differences.iter().filter(|d| !ACCEPTED.contains(&d.as_str())).collect();
    // An accepted difference that is gone was fixed: it must leave the list too.
    let gone: Vec<&&str> = ACCEPTED.iter().filter(|a| !differences.iter().any(|d| d == *a)).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "the migrations differ between SQLite and PostgreSQL:\n{}\naccepted differences no longer found:\n{}",
        unexpected.iter().map(|d| format!("  {d}\n")).collect::<String>(),
        gone.iter().map(|d| format!("  {d}\n")).collect::<String>(),
    );
}

/// A comparison that cannot fail proves nothing: it reports each kind of difference.
#[test]
fn the_comparison_reports_tables_columns_and_indexes_that_differ() {
    let base = || {
        let mut schema = Schema::default();
        schema.tables.insert("t".to_owned());
        schema.column("t", "id", "text", false);
        schema.column("t", "note", "text", true);
        schema.index("t", Index::PrimaryKey, "id");
        schema
    };
    assert!(differences(&base(), &base()).is_empty());

    let (mut sqlite, mut postgres) = (base(), base());
    sqlite.tables.insert("extra".to_owned());
    postgres.column("t", "note", "text", false);
    sqlite.index("t", Index::Named { name: "t_note", unique: false, partial: true }, "note");
    postgres.index("t", Index::Named { name: "t_note", unique: false, partial: false }, "note");
    postgres.index("t", Index::UniqueConstraint, "note");
    assert_eq!(
        differences(&sqlite, &postgres),
        [
            "table extra only on SQLite",
            "t: column note text null on SQLite, text not null on PostgreSQL",
            "t: index t_note (note) partial on SQLite, (note) on PostgreSQL",
            "t: unique constraint (note) only on PostgreSQL",
        ]
    );
}

/// One backend's schema, in terms both can be read into. Columns and indexes are keyed by table and by
/// what they are (`column x`, `index x`, `primary key (a, b)`), and described by the rest: a description
/// is empty or starts with a space, so that it follows what it describes in a line.
#[derive(Default)]
struct Schema {
    tables: BTreeSet<String>,
    columns: BTreeMap<(String, String), String>,
    indexes: BTreeMap<(String, String), String>,
}

enum Index<'a> {
    PrimaryKey,
    UniqueConstraint,
    Named { name: &'a str, unique: bool, partial: bool },
}

impl Schema {
    fn column(&mut self, table: &str, column: &str, class: &str, nullable: bool) {
        let null = if nullable { "null" } else { "not null" };
        self.columns.insert((table.to_owned(), format!("column {column}")), format!(" {class} {null}"));
    }

    /// `columns` in index order, separated by ", ".
    fn index(&mut self, table: &str, index: Index, columns: &str) {
        // The backends name the indexes of PRIMARY KEY and UNIQUE constraints each their own way: those are
        // compared by what they index.
        let (what, description) = match index {
            Index::PrimaryKey => (format!("primary key ({columns})"), String::new()),
            Index::UniqueConstraint => (format!("unique constraint ({columns})"), String::new()),
            Index::Named { name, unique, partial } => {
                let unique = if unique { "unique " } else { "" };
                let partial = if partial { " partial" } else { "" };
                (format!("index {name}"), format!(" {unique}({columns}){partial}"))
            }
        };
        self.indexes.insert((table.to_owned(), what), description);
    }
}

/// Every difference, one readable line each. A table on one side only is one line, not one per column.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for table in sqlite.tables.difference(&postgres.tables) {
        lines.push(format!("table {table} only on SQLite"));
    }
    for table in postgres.tables.difference(&sqlite.tables) {
        lines.push(format!("table {table} only on PostgreSQL"));
    }
    let both: BTreeSet<&String> = sqlite.tables.intersection(&postgres.tables).collect();
    for (sqlite, postgres) in [(&sqlite.columns, &postgres.columns), (&sqlite.indexes, &postgres.indexes)] {
        let keys: BTreeSet<&(String, String)> = sqlite.keys().chain(postgres.keys()).collect();
        for key @ (table, what) in keys.into_iter().filter(|(table, _)| both.contains(table)) {
            lines.push(match (sqlite.get(key), postgres.get(key)) {
                (Some(s), Some(p)) if s == p => continue,
                (Some(s), Some(p)) => format!("{table}: {what}{s} on SQLite,{p} on PostgreSQL"),
                (Some(s), None) => format!("{table}: {what}{s} only on SQLite"),
                (None, Some(p)) => format!("{table}: {what}{p} only on PostgreSQL"),
                (None, None) => continue,
            });
        }
    }
    lines
}

/// The type class of a declared SQLite column type: its affinity (https://sqlite.org/datatype3.html).
fn sqlite_class(declared: &str) -> &'static str {
    let declared = declared.to_ascii_uppercase();
    let has = |part: &str| declared.contains(part);
    if has("INT") {
        "integer"
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        "text"
    } else if has("BLOB") || declared.is_empty() {
        "bytes"
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        "real"
    } else {
        "numeric"
    }
}

/// The type class of a PostgreSQL column (`information_schema.columns.data_type`). Other types (boolean,
/// timestamps, ...) have no SQLite counterpart and are kept as they are, so they show as differences.
fn postgres_class(data_type: &str) -> &str {
    match data_type {
        "bigint" => "integer",
        // Narrower than SQLite's integers (64-bit): a value SQLite stores may not fit.
        "integer" | "smallint" => "narrow integer",
        "text" | "character varying" | "character" => "text",
        "bytea" => "bytes",
        "real" | "double precision" => "real",
        "numeric" => "numeric",
        other => other,
    }
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut db = AnyConnection::connect(url).await.expect("the SQLite file opens");
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .expect("SQLite tables");
    for table in tables {
        let indexes = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
            .bind(&table)
            .fetch_all(&mut db)
            .await
            .expect("SQLite indexes");
        schema.tables.insert(table.clone());
        // A rowid table keyed by an INTEGER PRIMARY KEY has no key index: the key is the rowid, the table
        // itself is that key's B-tree, and it is never NULL (a NULL inserted there takes the next rowid).
        let rowid_key = !indexes.iter().any(|i| i.get::<String, _>("origin") == "pk");
        let columns = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
            .bind(&table)
            .fetch_all(&mut db)
            .await
            .expect("SQLite columns");
        let mut key = Vec::new();
        for column in &columns {
            let (name, pk) = (column.get::<String, _>("name"), column.get::<i64, _>("pk"));
            let nullable = column.get::<i64, _>("notnull") == 0 && !(rowid_key && pk > 0);
            schema.column(&table, &name, sqlite_class(&column.get::<String, _>("type")), nullable);
            if pk > 0 {
                key.push((pk, name));
            }
        }
        if rowid_key && !key.is_empty() {
            key.sort();
            let key: Vec<String> = key.into_iter().map(|(_, name)| name).collect();
            schema.index(&table, Index::PrimaryKey, &key.join(", "));
        }
        for index in &indexes {
            let name: String = index.get("name");
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut db)
                    .await
                    .expect("SQLite index columns");
            let columns: Vec<String> =
                columns.into_iter().map(|c| c.unwrap_or_else(|| "(expression)".to_owned())).collect();
            let kind = match index.get::<String, _>("origin").as_str() {
                "pk" => Index::PrimaryKey,
                "u" => Index::UniqueConstraint,
                _ => Index::Named {
                    name: &name,
                    unique: index.get::<i64, _>("unique") != 0,
                    partial: index.get::<i64, _>("partial") != 0,
                },
            };
            schema.index(&table, kind, &columns.join(", "));
        }
    }
    db.close().await.expect("SQLite closed");
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = AnyConnection::connect(url).await.expect("the PostgreSQL database opens");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .expect("PostgreSQL tables");
    let mut schema = Schema { tables: tables.into_iter().collect(), ..Schema::default() };
    let columns = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
         is_nullable::text AS is_nullable FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("PostgreSQL columns");
    for column in &columns {
        let class = column.get::<String, _>("data_type");
        schema.column(
            &column.get::<String, _>("table_name"),
            &column.get::<String, _>("column_name"),
            postgres_class(&class),
            column.get::<String, _>("is_nullable") == "YES",
        );
    }
    // The key columns of each index in order (INCLUDE columns left out), and whether it is the index of a
    // UNIQUE constraint (a foreign key's conindid names the referenced index, hence contype).
    let indexes = sqlx::query(
        "SELECT x.tablename::text AS table_name, x.indexname::text AS index_name, \
             i.indisprimary AS primary_key, i.indisunique AS is_unique, i.indpred IS NOT NULL AS partial, \
             EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u') \
                 AS unique_constraint, \
             (SELECT string_agg(a.attname::text, ', ' ORDER BY k.n) \
                 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE k.n <= i.indnkeyatts) AS columns \
         FROM pg_indexes x \
         JOIN pg_index i ON i.indexrelid = format('%I.%I', x.schemaname, x.indexname)::regclass \
         WHERE x.schemaname = 'public' AND x.tablename <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .expect("PostgreSQL indexes");
    for index in &indexes {
        let name: String = index.get("index_name");
        let kind = if index.get::<bool, _>("primary_key") {
            Index::PrimaryKey
        } else if index.get::<bool, _>("unique_constraint") {
            Index::UniqueConstraint
        } else {
            Index::Named { name: &name, unique: index.get("is_unique"), partial: index.get("partial") }
        };
        let columns: Option<String> = index.get("columns");
        schema.index(&index.get::<String, _>("table_name"), kind, columns.as_deref().unwrap_or("(expression)"));
    }
    db.close().await.expect("PostgreSQL connection closed");
    schema
}
