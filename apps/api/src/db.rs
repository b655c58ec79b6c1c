//! Persistence through sqlx's `Any` driver: SQLite (the default, a file under
//! the data directory created on first run) or PostgreSQL, chosen by the URL.
//! The SQL is portable between the two: `$n` placeholders, text ids, integer
//! times.

use std::borrow::Cow;
use std::path::Path;

use notes_model::{Note, ValidNote};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

/// The migrations in `apps/api/migrations/`, embedded in the binary so the
/// image needs no files beside it. Versions are the file names' numbers.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "create notes",
        include_str!("../migrations/0001_create_notes.sql"),
    ),
    (
        2,
        "index notes created_at",
        include_str!("../migrations/0002_index_notes_created_at.sql"),
    ),
];

/// The schema version this build expects (`/readyz` compares against it).
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("failed to create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("failed to apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
}

pub fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        if let Some(file) = sqlite_file(url)
            && let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db { pool })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        migrator().run(&self.pool).await?;
        Ok(())
    }

    /// The highest successfully applied migration, or `None` before the first.
    pub async fn schema_version(&self) -> Result<Option<i64>, DbError> {
        let exists = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await;
        match exists {
            Ok(row) => Ok(row.map(|r| r.get::<i64, _>(0))),
            // No migrations table yet: version "none".
            Err(sqlx::Error::Database(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn insert(
        &self,
        id: &str,
        note: &ValidNote,
        created_at: i64,
    ) -> Result<Note, DbError> {
        sqlx::query(
            "INSERT INTO notes (id, slug, title, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&note.slug)
        .bind(&note.title)
        .bind(&note.body)
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        Ok(Note {
            id: id.to_owned(),
            slug: note.slug.clone(),
            title: note.title.clone(),
            body: note.body.clone(),
            created_at,
        })
    }

    /// The newest notes first.
    pub async fn list(&self, limit: i64) -> Result<Vec<Note>, DbError> {
        let rows = sqlx::query(
            "SELECT id, slug, title, body, created_at FROM notes ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(note_from_row).collect())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Note>, DbError> {
        let row = sqlx::query("SELECT id, slug, title, body, created_at FROM notes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(note_from_row))
    }

    /// Whether a note was deleted.
    pub async fn delete(&self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM notes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn note_from_row(row: &AnyRow) -> Note {
    Note {
        id: row.get("id"),
        slug: row.get("slug"),
        title: row.get("title"),
        body: row.get("body"),
        created_at: row.get("created_at"),
    }
}

/// The file path of a `sqlite:` URL (`sqlite://path?opts` or `sqlite:path`),
/// or `None` for other databases and in-memory SQLite.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/notes.db?mode=rwc"),
            Some("data/notes.db")
        );
        assert_eq!(sqlite_file("sqlite:///abs/notes.db"), Some("/abs/notes.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    #[test]
    fn migrations_are_versioned_in_order() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(SCHEMA_VERSION, 2);
        // Every file in migrations/ is embedded.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(files, MIGRATIONS.len());
    }
}
