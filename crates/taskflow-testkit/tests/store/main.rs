//! The store conformance suite: every test runs on SQLite and on a real PostgreSQL.

mod activity;
mod backup;
mod blobs;
mod comments;
mod concurrency;
mod listing;
mod projects;
mod schema;
mod tasks;
mod trash;
mod users;
mod workflow;

use taskflow_core::project::{Colour, Label, NewLabel, NewProject, Project, ProjectKey};
use taskflow_core::task::{NewTask, Task};
use taskflow_core::text::{DisplayName, LabelName, Markdown, ProjectName, TaskTitle};
use taskflow_core::user::{NewUser, Password, User, Username};
use taskflow_core::{ProjectId, UserId};
use taskflow_testkit::TestStore;

/// A password hash made once: argon2 is deliberately slow.
fn password_hash() -> taskflow_core::user::PasswordHash {
    static HASH: std::sync::OnceLock<taskflow_core::user::PasswordHash> =
        std::sync::OnceLock::new();
    HASH.get_or_init(|| Password::parse("correct horse battery").unwrap().hash())
        .clone()
}

pub async fn user(store: &TestStore, name: &str) -> User {
    store
        .create_user(NewUser {
            username: Username::parse(name).unwrap(),
            display_name: DisplayName::parse(name.to_uppercase()).unwrap(),
            password_hash: password_hash(),
            is_admin: false,
        })
        .await
        .unwrap()
}

pub async fn project(store: &TestStore, owner: UserId, key: &str) -> Project {
    store
        .create_project(
            owner,
            NewProject {
                key: ProjectKey::parse(key).unwrap(),
                name: ProjectName::parse(format!("Project {key}")).unwrap(),
                description: Markdown::parse("").unwrap(),
            },
        )
        .await
        .unwrap()
}

pub async fn label(store: &TestStore, project: ProjectId, name: &str) -> Label {
    store
        .create_label(
            project,
            NewLabel {
                name: LabelName::parse(name).unwrap(),
                colour: Colour::parse("#1f6feb").unwrap(),
            },
        )
        .await
        .unwrap()
}

pub fn titled(title: &str) -> NewTask {
    NewTask::titled(TaskTitle::parse(title).unwrap())
}

pub async fn task(store: &TestStore, actor: UserId, project: ProjectId, title: &str) -> Task {
    store
        .create_task(actor, project, titled(title))
        .await
        .unwrap()
}

/// An owner and their project `OPS`.
pub async fn setup(store: &TestStore) -> (User, Project) {
    let owner = user(store, "olivia").await;
    let project = project(store, owner.id, "OPS").await;
    (owner, project)
}
