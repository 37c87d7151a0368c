//! `taskflow dev seed`: demo data for trying the UI, benchmarks and crash tests. Every task is
//! created through the store like any other, with three labels, an assignee and activity.

use std::io::Write;

use taskflow_core::StoreError;
use taskflow_core::project::{Colour, NewLabel, NewProject, ProjectKey};
use taskflow_core::task::{NewTask, Priority};
use taskflow_core::text::{DisplayName, LabelName, Markdown, ProjectName, TaskTitle};
use taskflow_core::user::{NewUser, Password, Username};

use crate::commands::{CommandError, CommandResult, connect_migrated};
use crate::config::Settings;

pub async fn seed(settings: &Settings, key: &str, count: u64) -> CommandResult {
    let key = ProjectKey::parse(key).map_err(|e| CommandError::usage(e.to_string()))?;
    let store = connect_migrated(settings).await?;
    let username = Username::parse("demo").expect("valid");
    let user = match store.user_by_username(&username).await {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => {
            store
                .create_user(NewUser {
                    username,
                    display_name: DisplayName::parse("Demo User").expect("valid"),
                    password_hash: Password::generate().hash(),
                    is_admin: false,
                })
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let project = match store.project_by_key(&key).await {
        Ok(project) => project,
        Err(StoreError::NotFound { .. }) => {
            let project = store
                .create_project(
                    user.id,
                    NewProject {
                        key: key.clone(),
                        name: ProjectName::parse(format!("{key} demo")).expect("valid"),
                        description: Markdown::default(),
                    },
                )
                .await?;
            for (name, colour) in [("bug", "#d73a4a"), ("ops", "#0e8a16"), ("ux", "#1d76db")] {
                store
                    .create_label(
                        project.id,
                        NewLabel {
                            name: LabelName::parse(name).expect("valid"),
                            colour: Colour::parse(colour).expect("valid"),
                        },
                    )
                    .await?;
            }
            project
        }
        Err(e) => return Err(e.into()),
    };
    let labels: Vec<_> = store
        .labels(project.id)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect();
    let statuses: Vec<_> = store
        .workflow(project.id)
        .await?
        .statuses()
        .iter()
        .map(|s| s.id)
        .collect();
    let mut stdout = std::io::stdout().lock();
    for i in 0..count {
        let task = store
            .create_task(
                user.id,
                project.id,
                NewTask {
                    description: Markdown::parse(format!(
                        "Seeded task number {i}.\n\n- check the volume\n- rotate the logs"
                    ))
                    .expect("valid"),
                    status: statuses.get(i as usize % statuses.len().max(1)).copied(),
                    priority: Priority::ALL[(i % 5) as usize],
                    assignees: vec![user.id],
                    labels: labels.clone(),
                    ..NewTask::titled(TaskTitle::parse(format!("Demo task {i}")).expect("valid"))
                },
            )
            .await?;
        writeln!(stdout, "created {}", task.key()).ok();
        stdout.flush().ok();
    }
    store.close().await;
    Ok(())
}
