//! The PostgreSQL backend: a pool of connections that keep their prepared statements, READ
//! COMMITTED transactions retried when the server reports a serialization failure or a
//! deadlock, and the locks that make replicas sharing one database behave like one process
//! (row locks taken by upserts, advisory locks for rule state and migrations,
//! `FOR UPDATE SKIP LOCKED` for outbox claims). Connections use TLS as the URL's `sslmode`
//! and `sslrootcert` ask (see `tls`).

mod tls;

use std::collections::HashMap;
use std::error::Error;
use std::thread;
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use ::postgres::{Client, Config, Statement};
use bytes::BytesMut;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::migrations::{self, Migration};
use crate::sql::{Failure, Row, Tx, Value};
use crate::store::{Access, Backend};
use crate::StoreError;
use tls::{ConnectError, TlsSettings};

/// Connections per handle: enough for the pipeline's committers, deliverers and rule-state
/// calls of one process.
const POOL_SIZE: u32 = 8;
/// How long to wait for a connection, new or from the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of a transaction the server asked to retry.
const ATTEMPTS: u32 = 5;
/// Prepared statements kept per connection; the store has a few dozen distinct ones.
const STATEMENT_CACHE: usize = 256;

pub(crate) struct Postgres {
    name: String,
    pool: r2d2::Pool<Manager>,
}

/// A connection and the statements prepared on it: a statement is parsed and planned once
/// per connection, then each execution is a single round trip.
struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

struct Manager {
    config: Config,
    tls: TlsSettings,
    connector: MakeRustlsConnect,
}

impl Manager {
    fn connect_client(&self) -> Result<Client, ConnectError> {
        self.config
            .connect(self.connector.clone())
            .map_err(|e| self.tls.explain(e))
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ConnectError;

    fn connect(&self) -> Result<Connection, Self::Error> {
        Ok(Connection {
            client: self.connect_client()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), Self::Error> {
        Ok(conn.client.simple_query("").map(drop)?)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

fn db(e: impl Error + Send + Sync + 'static) -> Failure {
    Failure::Db(Box::new(e))
}

impl Postgres {
    pub(crate) fn connect(url: &str) -> Result<Self, StoreError> {
        let invalid_url = |f| StoreError::new("(invalid PostgreSQL URL)", "open", f);
        let (driver_url, tls) = TlsSettings::take_from_url(url).map_err(|e| invalid_url(db(e)))?;
        let mut config: Config = driver_url.parse().map_err(|e| invalid_url(db(e)))?;
        // The driver ends the user info at the first `@`, so the rest of a password holding
        // a raw `@` would become the host name, and be shown in every message naming it.
        let host_holds_at = |host: &::postgres::config::Host| matches!(host, ::postgres::config::Host::Tcp(name) if name.contains('@'));
        if config.get_hosts().iter().any(host_holds_at) {
            return Err(invalid_url(Failure::Invalid(
                "a user name or password holding `@` must write it %40".into(),
            )));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.ssl_mode(tls.driver_mode());
        let name = describe(&config);
        let fail = |f| StoreError::new(&name, "open", f);
        let connector = tls.connector().map_err(|e| fail(db(e)))?;
        let manager = Manager {
            config,
            tls,
            connector,
        };
        // One connection first: it fails fast and with the server's own reason (bad
        // password, no such database, certificate rejected), where the pool would only time
        // out.
        manager.connect_client().map_err(|e| fail(db(e)))?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(manager)
            .map_err(|e| fail(db(e)))?;
        Ok(Postgres { name, pool })
    }
}

/// `postgres://user@host:port/dbname`: the URL without its password.
fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(::postgres::config::Host::Tcp(host)) => host.clone(),
        Some(::postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// Whether the server rolled the transaction back and asks for it to be run again.
fn retryable(failure: &Failure) -> bool {
    let Failure::Db(e) = failure else {
        return false;
    };
    e.downcast_ref::<::postgres::Error>()
        .and_then(::postgres::Error::code)
        .is_some_and(|code| {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        })
}

impl Backend for Postgres {
    fn name(&self) -> &str {
        &self.name
    }

    fn migrations(&self) -> &'static [Migration] {
        migrations::POSTGRES
    }

    fn transaction<T>(
        &self,
        access: Access,
        work: &mut dyn FnMut(&mut dyn Tx) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut conn = self.pool.get().map_err(db)?;
        let Connection { client, statements } = &mut *conn;
        let mut attempt = 1;
        loop {
            let result = (|| {
                let mut tx = client
                    .build_transaction()
                    .read_only(access == Access::Read)
                    .start()
                    .map_err(db)?;
                let value = work(&mut PgTx {
                    tx: &mut tx,
                    statements,
                })?;
                tx.commit().map_err(db)?;
                Ok(value)
            })();
            match result {
                Err(failure) if attempt < ATTEMPTS && retryable(&failure) => {
                    thread::sleep(Duration::from_millis(10 << attempt));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

struct PgTx<'a, 'c> {
    tx: &'a mut ::postgres::Transaction<'c>,
    statements: &'a mut HashMap<String, Statement>,
}

impl PgTx<'_, '_> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, Failure> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).map_err(db)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_, '_> {
    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, Failure> {
        let statement = self.prepare(sql)?;
        self.tx.execute(&statement, &params(values)).map_err(db)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, Failure> {
        let statement = self.prepare(sql)?;
        self.tx
            .query(&statement, &params(values))
            .map_err(db)?
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Value>(i).map_err(db))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row::new)
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), Failure> {
        self.tx.batch_execute(sql).map_err(db)
    }

    fn lock_name(&mut self, name: &str) -> Result<(), Failure> {
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[name.into()],
        )?;
        Ok(())
    }

    fn skip_locked(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                _ => Err(format!("an integer given for a parameter of type {ty}").into()),
            },
            Value::Text(text) => text.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2) || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            _ => Value::Text(<&str>::from_sql(ty, raw)?.to_owned()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2) || <&str as FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_at_sign_in_the_password_is_refused_without_showing_the_password() {
        let Err(err) = Postgres::connect("postgres://iota:first@second@127.0.0.1:1/iota") else {
            panic!("connected");
        };
        let message = err.to_string();
        assert!(message.contains("%40"), "{message}");
        assert!(
            !message.contains("first") && !message.contains("second"),
            "{message}"
        );
    }
}
