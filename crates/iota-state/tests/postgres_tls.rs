//! TLS to PostgreSQL, against real servers: each test starts a throwaway PostgreSQL (initdb
//! into a temporary directory, trust authentication for `host` connections, a free loopback
//! port) with a certificate authority and server certificate made by rcgen for localhost and
//! 127.0.0.1, and opens the store with the `sslmode` and `sslrootcert` under test. Whether a
//! session is encrypted is read from the server's `pg_stat_ssl`, by application name.
//!
//! Without PostgreSQL's server programs (`/usr/lib/postgresql/*/bin`, or `pg_config
//! --bindir`) the tests are skipped with a loud notice, or fail when CI=true. As root, the
//! server runs as the `postgres` user (PostgreSQL refuses to run as root).

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iota_state::{CommitOutcome, CommitUnit, ObjectOutcome, ObjectProgress, StateStore};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

/// A PostgreSQL server of its own for one test, stopped and removed when dropped.
struct Server {
    dir: tempfile::TempDir,
    programs: Programs,
    port: u16,
    /// The certificate authority that signed the server's certificate (PEM file).
    ca_file: PathBuf,
}

/// Where PostgreSQL's server programs are, and who runs them.
struct Programs {
    bin: PathBuf,
    /// Run them through `runuser -u postgres`: the tests run as root.
    as_postgres_user: bool,
}

impl Programs {
    /// `Err` says why the server cannot be started here.
    fn find() -> Result<Programs, String> {
        let bin = newest_debian_bin()
            .or_else(pg_config_bin)
            .ok_or("no initdb in /usr/lib/postgresql/*/bin or at `pg_config --bindir`")?;
        let as_postgres_user = output(Command::new("id").arg("-u"))?.trim() == "0";
        if as_postgres_user {
            output(Command::new("id").args(["-u", "postgres"]))
                .map_err(|e| format!("running as root and no `postgres` user to run as: {e}"))?;
        }
        Ok(Programs {
            bin,
            as_postgres_user,
        })
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

/// Debian's layout: `/usr/lib/postgresql/<major>/bin`, the newest major.
fn newest_debian_bin() -> Option<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin)
}

fn pg_config_bin() -> Option<PathBuf> {
    let bin = PathBuf::from(
        output(Command::new("pg_config").arg("--bindir"))
            .ok()?
            .trim(),
    );
    bin.join("initdb").is_file().then_some(bin)
}

/// The command's stdout; `Err` with its stderr when it fails.
fn output(command: &mut Command) -> Result<String, String> {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() {
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    } else {
        Err(format!(
            "{command:?}: {status}: {}",
            String::from_utf8_lossy(&stderr)
        ))
    }
}

/// A certificate authority in PEM, for `sslrootcert`.
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

impl Server {
    /// Starts a server, with TLS or without; `None` (after a notice) when this machine cannot
    /// run one and this is not CI.
    fn start(tls: bool) -> Option<Server> {
        let programs = match Programs::find() {
            Ok(programs) => programs,
            Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("a PostgreSQL server is required on CI: {reason}")
            }
            Err(reason) => {
                // Straight to the stderr handle: the test harness captures eprintln!.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED: PostgreSQL TLS test: {reason} (install the PostgreSQL \
                     server; CI=true makes this a failure) ***\n"
                );
                return None;
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("iota-pg-tls")
            .tempdir()
            .expect("temporary directory");
        if programs.as_postgres_user {
            output(Command::new("chown").arg("postgres").arg(dir.path())).expect("chown");
        }
        let data = dir.path().join("data");
        output(
            programs
                .command("initdb")
                .current_dir(dir.path())
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "--no-instructions",
                ])
                .args(["-E", "UTF8", "--locale=C", "-D"])
                .arg(&data),
        )
        .expect("initdb");

        let authority = certificate_authority("iota test CA");
        let ca_file = dir.path().join("ca.pem");
        fs::write(&ca_file, authority.pem()).expect("write CA");
        let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("server certificate parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("server key");
        let certificate = params
            .signed_by(&key, &authority)
            .expect("server certificate");
        write_private(&data.join("server.crt"), &certificate.pem());
        write_private(&data.join("server.key"), &key.serialize_pem());
        if programs.as_postgres_user {
            output(
                Command::new("chown")
                    .args(["postgres", "server.crt", "server.key"])
                    .current_dir(&data),
            )
            .expect("chown certificate");
        }

        let port = free_port();
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             ssl = {}\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             shared_buffers = 16MB\nmax_connections = 40\nfsync = off\n",
            dir.path().display(),
            if tls { "on" } else { "off" },
        );
        fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut conf| conf.write_all(settings.as_bytes()))
            .expect("configure the server");

        let server = Server {
            dir,
            programs,
            port,
            ca_file,
        };
        let log = server.dir.path().join("server.log");
        if let Err(e) = output(
            server
                .programs
                .command("pg_ctl")
                .current_dir(server.dir.path())
                .args(["-w", "-t", "60", "-l"])
                .arg(&log)
                .arg("-D")
                .arg(&data)
                .arg("start"),
        ) {
            panic!(
                "starting PostgreSQL: {e}\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Some(server)
    }

    /// The store URL for `host` (which must resolve to 127.0.0.1) with these query
    /// parameters; its sessions carry `application`.
    fn url(&self, host: &str, application: &str, params: &str) -> String {
        format!(
            "postgres://postgres:hunter2@{host}:{}/postgres?application_name={application}&{params}",
            self.port
        )
    }

    /// Whether each session of `application` is encrypted, read by a connection of its own.
    fn sessions_encrypted(&self, application: &str) -> Vec<bool> {
        let mut admin = postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .expect("admin connection");
        admin
            .query(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name = $1",
                &[&application],
            )
            .expect("pg_stat_ssl")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stopped = output(
            self.programs
                .command("pg_ctl")
                .current_dir(self.dir.path())
                .args(["-w", "-m", "immediate", "-D"])
                .arg(self.dir.path().join("data"))
                .arg("stop"),
        );
        if let Err(e) = stopped {
            let _ = writeln!(std::io::stderr(), "stopping the test PostgreSQL: {e}");
        }
    }
}

fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(contents.as_bytes()))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn open(url: &str) -> Box<dyn StateStore> {
    iota_state::open(url).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// The message of a failed open, checked to keep the password out.
fn open_error(url: &str) -> String {
    match iota_state::open(url) {
        Ok(_) => panic!("open {url} should fail"),
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains("hunter2"), "password in: {message}");
            message
        }
    }
}

/// Ping, and a commit of object `key` recorded and recognized as such the second time.
fn check_store_works(store: &dyn StateStore, key: &str) {
    store.ping().expect("ping");
    let unit = CommitUnit {
        matches: Vec::new(),
        rule_errors: Vec::new(),
        progress: Some(ObjectProgress {
            source: "tls-test".into(),
            key: key.into(),
            etag: "etag-1".into(),
            size: 1,
            events: 0,
            outcome: ObjectOutcome::Ok,
        }),
    };
    assert!(matches!(
        store.commit(&unit).expect("commit"),
        CommitOutcome::Applied(_)
    ));
    assert!(matches!(
        store.commit(&unit).expect("commit again"),
        CommitOutcome::Duplicate
    ));
}

#[test]
fn require_encrypts_every_session_and_the_store_works() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let store = open(&server.url("127.0.0.1", "tls-require", "sslmode=require"));
    check_store_works(&*store, "tls-require");
    assert!(
        !store.name().contains("hunter2"),
        "password in {}",
        store.name()
    );
    let sessions = server.sessions_encrypted("tls-require");
    assert!(!sessions.is_empty(), "no session of the store");
    assert!(sessions.iter().all(|&ssl| ssl), "{sessions:?}");
}

#[test]
fn prefer_is_the_default_and_encrypts_when_the_server_can() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?application_name=tls-default",
        server.port
    );
    let store = open(&url);
    check_store_works(&*store, "tls-default");
    let sessions = server.sessions_encrypted("tls-default");
    assert!(
        !sessions.is_empty() && sessions.iter().all(|&ssl| ssl),
        "{sessions:?}"
    );
}

#[test]
fn verify_full_with_sslrootcert_accepts_the_names_in_the_certificate() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let params = format!(
        "sslmode=verify-full&sslrootcert={}",
        server.ca_file.display()
    );
    for host in ["localhost", "127.0.0.1"] {
        let application = format!("tls-verify-full-{}", host.replace('.', "-"));
        let store = open(&server.url(host, &application, &params));
        check_store_works(&*store, &application);
        let sessions = server.sessions_encrypted(&application);
        assert!(
            !sessions.is_empty() && sessions.iter().all(|&ssl| ssl),
            "{sessions:?}"
        );
    }
}

#[test]
fn verify_full_with_the_platform_roots_rejects_a_private_authority() {
    let Some(server) = Server::start(true) else {
        return;
    };
    for params in [
        "sslmode=verify-full",
        "sslrootcert=system",
        "sslmode=verify-ca",
    ] {
        let error = open_error(&server.url("localhost", "tls-platform", params));
        assert!(
            error.contains("platform's trust store") && error.contains("set sslrootcert"),
            "{params}: {error}"
        );
        assert!(error.contains("issuer check"), "{params}: {error}");
    }
}

#[test]
fn verify_full_rejects_a_host_the_certificate_does_not_name_and_verify_ca_accepts_it() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let ca = server.ca_file.display();
    // hostaddr: connect to 127.0.0.1 but check the certificate against the name in the URL.
    let error = open_error(&server.url(
        "wrong-name.invalid",
        "tls-wrong-host",
        &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(
        error.contains("sslmode=verify-full: the server's certificate failed the host name check")
            && error.contains("wrong-name.invalid")
            && error.contains("verify-ca"),
        "{error}"
    );
    assert!(
        error.starts_with("state store postgres://postgres@wrong-name.invalid:"),
        "{error}"
    );

    let url = server.url(
        "wrong-name.invalid",
        "tls-verify-ca",
        &format!("hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"),
    );
    check_store_works(&*open(&url), "tls-verify-ca");
}

#[test]
fn require_with_sslrootcert_checks_the_issuer_as_libpq_does() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let other_ca = server.dir.path().join("other-ca.pem");
    fs::write(&other_ca, certificate_authority("another CA").pem()).expect("write CA");
    let error = open_error(&server.url(
        "localhost",
        "tls-require-other-ca",
        &format!("sslmode=require&sslrootcert={}", other_ca.display()),
    ));
    assert!(
        error.contains("sslmode=require: the server's certificate failed the issuer check")
            && error.contains(&format!("sslrootcert file {}", other_ca.display())),
        "{error}"
    );

    let url = server.url(
        "localhost",
        "tls-require-ca",
        &format!("sslmode=require&sslrootcert={}", server.ca_file.display()),
    );
    check_store_works(&*open(&url), "tls-require-ca");
}

#[test]
fn disable_connects_in_plaintext_to_a_tls_server() {
    let Some(server) = Server::start(true) else {
        return;
    };
    let store = open(&server.url("127.0.0.1", "tls-disable", "sslmode=disable"));
    check_store_works(&*store, "tls-disable");
    let sessions = server.sessions_encrypted("tls-disable");
    assert!(
        !sessions.is_empty() && sessions.iter().all(|&ssl| !ssl),
        "{sessions:?}"
    );
}

#[test]
fn a_server_without_ssl_refuses_require_clearly_and_serves_prefer_in_plaintext() {
    let Some(server) = Server::start(false) else {
        return;
    };
    for mode in ["require", "verify-ca", "verify-full"] {
        let params = format!("sslmode={mode}&sslrootcert={}", server.ca_file.display());
        let error = open_error(&server.url("localhost", "no-tls", &params));
        assert!(
            error.contains(&format!(
                "the server does not support SSL, which sslmode={mode} requires"
            )),
            "{error}"
        );
    }
    let store = open(&server.url("127.0.0.1", "no-tls-prefer", "sslmode=prefer"));
    check_store_works(&*store, "no-tls-prefer");
    let sessions = server.sessions_encrypted("no-tls-prefer");
    assert!(
        !sessions.is_empty() && sessions.iter().all(|&ssl| !ssl),
        "{sessions:?}"
    );
}
