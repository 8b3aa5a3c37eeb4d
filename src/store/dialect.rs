//! Where SQLite and PostgreSQL differ, and nothing else: every backend-specific piece of SQL or
//! connection handling in the store comes from a method here, and no other file of `store/` asks which
//! backend it runs on. Everything else is written once in the subset both accept.
//!
//! Each method says why the two backends need different text. The schema's DDL differs as well; it is
//! kept per backend in `migrations/{sqlite,postgres}` and chosen by [`Backend::migrator`].

use sqlx::migrate::Migrator;

/// Which database the store talks to, and so which dialect its SQL is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

impl Backend {
    /// The backend a database URL names: `sqlite://PATH` or `postgres://...` (`postgresql://...`).
    pub(super) fn of_url(database_url: &str) -> Option<Self> {
        if database_url.starts_with("sqlite://") {
            Some(Self::Sqlite)
        } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    /// The URL to connect with. An SQLite database is a file the broker creates when missing (with its
    /// directory, and `mode=rwc` unless the URL sets options of its own); a PostgreSQL database is made
    /// by its operator, and its URL is used as given.
    pub(super) fn connect_url(self, database_url: &str) -> Result<String, std::io::Error> {
        match self {
            Self::Postgres => Ok(database_url.to_owned()),
            Self::Sqlite => {
                let path = database_url.strip_prefix("sqlite://").unwrap_or(database_url);
                let file = path.split('?').next().unwrap_or(path);
                if let Some(dir) = std::path::Path::new(file).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)?;
                    }
                }
                owner_only(std::path::Path::new(file))?;
                Ok(if database_url.contains('?') {
                    database_url.to_owned()
                } else {
                    format!("{database_url}?mode=rwc")
                })
            }
        }
    }

    /// Statements run on every new connection before it is used.
    ///
    /// SQLite's durability and integrity settings are per connection (`foreign_keys`, `synchronous`,
    /// `busy_timeout`, `secure_delete`) or per file (`journal_mode`), so each connection sets them:
    /// WAL lets readers run beside the writer; `synchronous = FULL` makes every commit durable (an
    /// acknowledged message survives power loss, not only a crash); `secure_delete` overwrites a purged
    /// payload's pages rather than just freeing them, so retention leaves no patient data readable in
    /// the file. PostgreSQL always enforces foreign keys and makes commits durable with its default
    /// server settings (which are its operator's to choose), so it needs none.
    pub(super) fn session_setup(self) -> &'static [&'static str] {
        match self {
            Self::Sqlite => &[
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = FULL",
                "PRAGMA busy_timeout = 10000",
                "PRAGMA foreign_keys = ON",
                "PRAGMA secure_delete = ON",
            ],
            Self::Postgres => &[],
        }
    }

    /// The schema migrations. The DDL differs (`BLOB` and `BYTEA`, `INTEGER PRIMARY KEY AUTOINCREMENT`
    /// and `BIGSERIAL`, ...), so each backend has its own directory; both make the same tables, columns
    /// and indexes (the schema parity test checks it).
    pub(super) fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The parameters of a multi-row `VALUES` list, `rows` rows of `cols` columns:
    /// `($1, $2), ($3, $4)` on PostgreSQL, `(?, ?), (?, ?)` on SQLite.
    ///
    /// PostgreSQL knows only numbered `$N` parameters. SQLite accepts those too, but sqlx resolves every
    /// named `$N` through `sqlite3_bind_parameter_name`, a linear search: quadratic in a statement of
    /// hundreds of parameters. Anonymous `?` are bound by position, in the same order.
    pub(super) fn values_list(self, rows: usize, cols: usize) -> String {
        let mut sql = String::with_capacity(rows * cols * 5);
        let mut n = 0;
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for col in 0..cols {
                n += 1;
                if col > 0 {
                    sql.push_str(", ");
                }
                match self {
                    Self::Sqlite => sql.push('?'),
                    Self::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql
    }

    /// The row-locking clause that ends the subquery choosing the rows a claim takes (empty or with a
    /// leading space).
    ///
    /// On PostgreSQL several broker nodes claim from the same queues at once: `FOR UPDATE SKIP LOCKED`
    /// makes each take rows no other claim holds, instead of waiting for them. SQLite has no row locks
    /// (`FOR UPDATE` is a syntax error there): it has one writer at a time for the whole file, and
    /// a claim is a write, so no other claim runs beside it.
    pub(super) fn claim_lock(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The statement that makes a transaction the only ledger appender until it ends, run before it
    /// reads the head of the chain; `None` if the backend needs none.
    ///
    /// On PostgreSQL two broker nodes could otherwise read the same head and both chain from it:
    /// `EXCLUSIVE` mode makes other appenders wait while readers go on. SQLite has no `LOCK TABLE` and
    /// needs none: its writers are serialised on the whole file, and in WAL mode a transaction that
    /// read before another's commit can no longer write (`SQLITE_BUSY_SNAPSHOT`), so an append never
    /// chains from a stale head.
    pub(super) fn ledger_append_lock(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("LOCK TABLE ledger IN EXCLUSIVE MODE"),
        }
    }

    /// An expression for the length in UTF-8 bytes of the text expression `expr` (NULL when it is
    /// NULL): the bytes the client receives, whatever the server's own encoding.
    ///
    /// PostgreSQL's `octet_length` of a text counts the bytes of the server encoding, which need not be
    /// UTF-8, so the text is converted first. SQLite has no `convert_to`; its `octet_length` counts the
    /// bytes of the database encoding, UTF-8 in the files the broker creates (SQLite's default).
    pub(super) fn utf8_length(self, expr: &str) -> String {
        match self {
            Self::Sqlite => format!("octet_length({expr})"),
            Self::Postgres => format!("octet_length(convert_to({expr}, 'UTF8'))"),
        }
    }
}

/// The database file is readable by its owner alone (0600): it holds patient data. Created so when
/// missing (SQLite then gives its WAL and shared-memory files the same mode), and narrowed when an
/// existing file allows more. Not for `:memory:` or other special names.
fn owner_only(file: &std::path::Path) -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if file.as_os_str().is_empty() || file.to_string_lossy().starts_with(':') {
            return Ok(());
        }
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for path in [file.to_path_buf(), suffixed(file, "-wal"), suffixed(file, "-shm")] {
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(stage = "store", "the database file allowed others to read it; now owner only (0600)");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// `file` with `suffix` appended to its name, as SQLite names its WAL and shared-memory files.
#[cfg(unix)]
fn suffixed(file: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn values_are_numbered_row_by_row_for_postgres_and_anonymous_for_sqlite() {
        assert_eq!(Backend::Postgres.values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(Backend::Postgres.values_list(1, 1), "($1)");
        assert_eq!(Backend::Sqlite.values_list(2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::of_url("sqlite://data/broker.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u:p@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://u:p@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }

    #[test]
    fn sqlite_urls_create_their_file_unless_they_set_options() {
        assert_eq!(Backend::Sqlite.connect_url("sqlite://broker.db").unwrap(), "sqlite://broker.db?mode=rwc");
        assert_eq!(Backend::Sqlite.connect_url("sqlite://broker.db?mode=ro").unwrap(), "sqlite://broker.db?mode=ro");
        assert_eq!(Backend::Postgres.connect_url("postgres://u:p@h/db").unwrap(), "postgres://u:p@h/db");
    }
}
