//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver) against the
//! real binary. A failing test leaves a screenshot in `target/browser/`.

use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use taskflow_testkit::tempdir;

use crate::clean_command;
use crate::serve::{Server, start};

/// A headless Chromium session, with its chromedriver; both end when dropped.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
}

fn installed(program: &str) -> std::path::PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = std::path::Path::new(dir).join(program);
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "{program} is not installed; the browser tests need Debian's chromium and chromium-driver: \
         apt-get install chromium chromium-driver (scripts/test.sh installs them)"
    );
}

pub async fn browser(width: u32, height: u32) -> Browser {
    let chromium = installed("chromium");
    let chromedriver = installed("chromedriver");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = tokio::process::Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let up = async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), up)
        .await
        .expect("chromedriver listens");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},{height}")
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Browser {
        client,
        _driver: driver,
    }
}

impl Browser {
    /// Runs `steps`; when they fail, saves a screenshot as `target/browser/<name>.png` first.
    pub async fn check<F>(&self, name: &str, steps: F)
    where
        F: std::future::Future<Output = Result<(), String>>,
    {
        let outcome = steps.await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Err(problem) = outcome {
            let url = self
                .client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("{name}: {problem} (at {url}; screenshot in target/browser/{name}.png)");
        }
    }
}

fn step<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: {e}"))
}

/// Types `text` into the field with this id.
async fn fill(c: &Client, id: &str, text: &str) -> Result<(), String> {
    let field = step(id, c.find(Locator::Id(id)).await)?;
    step(id, field.send_keys(text).await)
}

/// Clicks the element `css` selects.
async fn click(c: &Client, css: &str) -> Result<(), String> {
    let element = step(css, c.find(Locator::Css(css)).await)?;
    step(css, element.click().await)
}

async fn serve_with_admin() -> (Server, tempfile::TempDir) {
    let dir = tempdir();
    let mut cmd = clean_command();
    cmd.env("TASKFLOW_DATA_DIR", dir.path().join("data"))
        .env("TASKFLOW_ADMIN_PASSWORD", "a browser password");
    (start(cmd).await, dir)
}

/// A person opens the address, is sent to sign in, signs in with the first administrator's
/// password, lands on the projects, and creates one with the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_creating_a_project_in_a_browser() {
    let (server, _dir) = serve_with_admin().await;
    let browser = browser(1100, 800).await;
    let c = &browser.client;
    let base = format!("http://{}", server.address);
    browser
        .check("sign-in", async {
            step("open /", c.goto(&format!("{base}/")).await)?;
            let url = step("url", c.current_url().await)?;
            if url.path() != "/login" {
                return Err(format!("signed out, / led to {url}"));
            }
            fill(c, "username", "admin").await?;
            fill(c, "password", "a browser password").await?;
            click(c, "form[action='/login'] button").await?;
            let heading = step("heading", c.wait().for_element(Locator::Css("main h1")).await)?;
            let text = step("heading text", heading.text().await)?;
            let url = step("url", c.current_url().await)?;
            if url.path() != "/projects" || text != "Projects" {
                return Err(format!("after signing in: {url}, heading {text:?}"));
            }
            fill(c, "key", "OPS").await?;
            fill(c, "name", "Operations").await?;
            click(c, "form[action='/projects'] button").await?;
            let link = step("the new project", c.wait().for_element(Locator::Css("a[href='/p/OPS']")).await)?;
            let text = step("link text", link.text().await)?;
            if !text.contains("Operations") {
                return Err(format!("the project link says {text:?}"));
            }
            // The page's policy held: nothing was blocked, so nothing inline was attempted.
            let errors = step(
                "console",
                c.execute("return performance.getEntriesByType('resource').filter(e => e.name.includes('/assets/')).length", vec![]).await,
            )?;
            if errors.as_u64() != Some(1) {
                return Err(format!("the stylesheet loaded {errors} times"));
            }
            Ok(())
        })
        .await;

    // A few tasks through the API, then the board as a person sees it.
    let mut token = clean_command();
    token
        .env("TASKFLOW_DATA_DIR", _dir.path().join("data"))
        .args(["token", "create", "--username", "admin"]);
    let out = crate::run(token).await;
    assert!(out.status.success(), "{}", crate::stderr(&out));
    let auth = format!("Bearer {}", crate::stdout(&out).trim());
    for body in [
        r#"{"title": "Write the release notes", "priority": "high", "due_date": "2026-12-10", "assignees": ["admin"]}"#,
        r#"{"title": "Plan the on-call rota for January", "due_date": "2027-01-02"}"#,
        r#"{"title": "Rotate the database password", "status": "in_progress", "priority": "urgent"}"#,
        r#"{"title": "Publish the 1.2 changelog", "status": "done"}"#,
    ] {
        let reply = crate::serve::request(
            &server.address,
            "POST",
            "/api/v1/projects/OPS/tasks",
            &[("Authorization", auth.as_str())],
            body,
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    browser
        .check("board", async {
            step("open the board", c.goto(&format!("{base}/p/OPS")).await)?;
            step(
                "the done column",
                c.wait().for_element(Locator::Css("#col-done")).await,
            )?;
            let done = step(
                "the done column",
                c.find(Locator::XPath("//h2[@id='col-done']/..")).await,
            )?;
            let column = step("its text", done.text().await)?;
            if !column.contains("Publish the 1.2 changelog") {
                return Err(format!("the done column shows {column:?}"));
            }
            let cards = step("cards", c.find_all(Locator::Css(".card-item")).await)?;
            if cards.len() != 4 {
                return Err(format!("{} cards on the board", cards.len()));
            }
            Ok(())
        })
        .await;
    browser.client.clone().close().await.ok();
}
