use crate::commands::{CommandResult, create_and_connect};
use crate::config::Settings;

pub async fn run(settings: &Settings) -> CommandResult {
    let (store, _) = create_and_connect(settings).await?;
    let before = store.schema_version().await?;
    store.migrate().await?;
    let after = store.schema_version().await?.unwrap_or(0);
    if before == Some(after) {
        println!(
            "{} is up to date (schema version {after})",
            settings.database_url
        );
    } else {
        println!(
            "migrated {} from schema version {} to {after}",
            settings.database_url,
            before.unwrap_or(0)
        );
    }
    store.close().await;
    Ok(())
}
