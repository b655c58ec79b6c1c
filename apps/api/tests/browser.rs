//! The front end in a real browser: headless Debian Chromium driven over
//! WebDriver (chromedriver) against the API serving the built wasm bundle.
//! Needs CHROMEDRIVER (the chromedriver binary) and WEB_DIST (the built
//! apps/web/dist), which .ci/services.sh provides.

mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use notes_api::Config;

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_note_in_the_browser() {
    let Some(chromedriver) = support::require_env("CHROMEDRIVER", "chromedriver and chromium")
    else {
        return;
    };
    let Some(web_dist) = support::require_env("WEB_DIST", "the built front end (apps/web/dist)")
    else {
        return;
    };
    let web_dist = PathBuf::from(web_dist);
    assert!(
        web_dist.join("index.html").is_file() && web_dist.join("app_bg.wasm").is_file(),
        "{} is not a built front end: run `cargo run -p notes-web-dist -- dist`",
        web_dist.display()
    );

    // The API, in process, on a fresh SQLite file.
    let data = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("notes.db").display()
    );
    let vars = env_config::Vars::from_pairs([("DATABASE_URL", url.as_str())]);
    let state = notes_api::state(&Config::from_vars(&vars).unwrap())
        .await
        .unwrap();
    let app = notes_api::app(state, Some(&web_dist));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let driver_port = free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}")),
    );
    wait_for_port(driver_port, "chromedriver");

    let profile = tempfile::tempdir().unwrap();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1024,768",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
    });
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");

    let result = async {
        client.goto(&api).await?;
        let wait = || client.wait().at_most(Duration::from_secs(20));
        // The wasm app replaced "Loading…" with the (empty) list from the API.
        wait().for_element(Locator::Css("#empty")).await?;

        // A draft the rules reject shows the error and creates nothing.
        client
            .find(Locator::Id("title"))
            .await?
            .send_keys("   ")
            .await?;
        client.find(Locator::Id("create")).await?.click().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut error = String::new();
        while error.is_empty() && Instant::now() < deadline {
            error = client.find(Locator::Id("error")).await?.text().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(error, "invalid note; title: must not be empty");

        let title = client.find(Locator::Id("title")).await?;
        title.clear().await?;
        title.send_keys("Buy oat milk").await?;
        client
            .find(Locator::Id("body"))
            .await?
            .send_keys("two litres")
            .await?;
        client.find(Locator::Id("create")).await?.click().await?;
        let item = wait()
            .for_element(Locator::Css("#notes li[data-id]"))
            .await?;
        let text = item.text().await?;
        assert!(text.contains("Buy oat milk"), "{text}");
        assert!(text.contains("buy-oat-milk"), "{text}");
        assert_eq!(client.find(Locator::Id("error")).await?.text().await?, "");

        let shot = client.screenshot().await?;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes-created.png");
        std::fs::write(&path, &shot).unwrap();
        eprintln!("screenshot: {}", path.display());
        assert!(shot.starts_with(b"\x89PNG"));
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = client.close().await;
    result.expect("the browser scenario");

    // The note really is in the database behind the API.
    let body = reqwest_free_get(&api, "/api/notes").await;
    assert!(body.contains("\"title\":\"Buy oat milk\""), "{body}");
}

/// A GET over a plain TCP stream (no HTTP client crate needed for one call).
async fn reqwest_free_get(base: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
