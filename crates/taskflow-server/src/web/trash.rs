//! The trash: a project's (`/p/{KEY}/trash`) and everything the viewer owns (`/trash`, trashed
//! projects included). Each item says what it was, when it was deleted and when `gc` will purge
//! it; editors restore, owners purge after a confirmation page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::Timestamp;
use taskflow_core::project::Role;
use taskflow_core::trash::{TrashItem, TrashRef};

use super::kit::{PageFrame, Posted, Refused, Viewer, redirect, render};
use crate::access::viewed_project;
use crate::error::{Kind, Refusal};
use crate::state::AppState;

/// One item as the page shows it.
struct Entry {
    kind: &'static str,
    id: i64,
    project: String,
    task: Option<String>,
    summary: String,
    deleted_at: String,
    deleted_words: String,
    /// Who deleted it, by display name.
    deleted_by: Option<String>,
    purged_on: String,
    can_restore: bool,
    can_purge: bool,
}

#[derive(Template)]
#[template(path = "trash.html")]
struct TrashPage {
    page: PageFrame,
    /// The project, for a project's trash; `None` for everything the viewer owns.
    project: Option<(String, String)>,
    /// The project's navigation, for a project's trash.
    nav: Option<super::kit::ProjectNav>,
    entries: Vec<Entry>,
    notice: Option<String>,
    problem: Option<String>,
    /// Where the forms come back to.
    back: String,
}

fn day(at: Timestamp) -> String {
    at.datetime()
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Display names of who deleted these items.
async fn deleters(
    state: &AppState,
    items: &[TrashItem],
) -> Result<std::collections::HashMap<taskflow_core::UserId, String>, Refusal> {
    let mut ids: Vec<_> = items.iter().filter_map(|i| i.deleted_by).collect();
    ids.sort_unstable_by_key(|id| id.0);
    ids.dedup();
    let users = state.store.users_by_id(&ids).await?;
    Ok(users
        .into_iter()
        .map(|u| (u.id, u.display_name.to_string()))
        .collect())
}

fn entry(
    state: &AppState,
    viewer: &Viewer,
    item: TrashItem,
    role: Role,
    names: &std::collections::HashMap<taskflow_core::UserId, String>,
) -> Entry {
    let (kind, id) = item.item.parts();
    let keep =
        std::time::Duration::from_secs(u64::from(state.storage.trash_retention_days) * 86_400);
    Entry {
        kind,
        id,
        project: item.project_key.to_string(),
        task: item.task.map(|t| t.to_string()),
        summary: item.summary,
        deleted_at: item.deleted_at.to_string(),
        deleted_words: viewer.when(item.deleted_at),
        deleted_by: item.deleted_by.and_then(|id| names.get(&id).cloned()),
        purged_on: day(item.deleted_at.saturating_add(keep)),
        can_restore: role >= Role::Editor,
        can_purge: role == Role::Owner,
    }
}

#[derive(Deserialize, Default)]
pub struct TrashParams {
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    match done? {
        "restored" => Some("Restored.".to_owned()),
        "purged" => Some("Purged for good.".to_owned()),
        "trashed" => Some(
            "The project is in the trash with everything in it; restore it here until it is purged."
                .to_owned(),
        ),
        _ => None,
    }
}

/// `GET /p/{key}/trash`: a project's trash, for its editors and owners.
pub async fn project_trash(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    Query(params): Query<TrashParams>,
) -> Result<Response, Refused> {
    project_page(
        &state,
        &viewer,
        &key,
        notice(params.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

async fn project_page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    if role < Role::Editor {
        return Err(Refusal::new(Kind::Forbidden, "viewers cannot see the trash").into());
    }
    let items = state.store.trash(Some(project.id)).await?;
    let names = deleters(state, &items).await?;
    let page = TrashPage {
        page: viewer.frame("projects"),
        back: format!("/p/{}/trash", project.key),
        project: Some((project.key.to_string(), project.name.to_string())),
        nav: Some(super::kit::ProjectNav::new(&project, role, "trash")),
        entries: items
            .into_iter()
            .map(|i| entry(state, viewer, i, role, &names))
            .collect(),
        notice,
        problem,
    };
    Ok(render(status, &page))
}

/// `GET /trash`: everything in the trash of the projects the viewer owns (every project's, for
/// administrators), trashed projects included.
pub async fn all_trash(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<TrashParams>,
) -> Result<Response, Refused> {
    all_page(
        &state,
        &viewer,
        notice(params.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

async fn all_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<Response, Refused> {
    let mut roles = std::collections::HashMap::new();
    let mut owned = Vec::new();
    for item in state.store.trash(None).await? {
        let role = match roles.get(&item.project_id) {
            Some(role) => *role,
            None => {
                let role = crate::access::trash_role(state, &viewer.user, item.project_id).await?;
                roles.insert(item.project_id, role);
                role
            }
        };
        if role == Some(Role::Owner) {
            owned.push(item);
        }
    }
    let names = deleters(state, &owned).await?;
    let entries = owned
        .into_iter()
        .map(|i| entry(state, viewer, i, Role::Owner, &names))
        .collect();
    let page = TrashPage {
        nav: None,
        page: viewer.frame("trash"),
        project: None,
        entries,
        notice,
        problem,
        back: "/trash".to_owned(),
    };
    Ok(render(status, &page))
}

#[derive(Deserialize)]
pub struct ItemForm {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: i64,
    #[serde(default)]
    back: String,
}

impl ItemForm {
    fn item(&self) -> Option<TrashRef> {
        TrashRef::from_parts(&self.kind, self.id)
    }

    /// The trash page to come back to: a project's, or the account's.
    fn back(&self) -> String {
        let project = self
            .back
            .strip_prefix("/p/")
            .and_then(|rest| rest.strip_suffix("/trash"))
            .filter(|key| key.chars().all(|c| c.is_ascii_alphanumeric()));
        match project {
            Some(key) => format!("/p/{key}/trash"),
            None => "/trash".to_owned(),
        }
    }
}

/// The item in the trash a form names, with the viewer's role in its project, if at least
/// `needed`.
async fn trashed(
    state: &AppState,
    viewer: &Viewer,
    form: &ItemForm,
    needed: Role,
) -> Result<TrashItem, Refusal> {
    let wanted = form
        .item()
        .ok_or_else(|| Refusal::not_found("item in the trash"))?;
    let found = crate::access::find_trashed(state, wanted).await?;
    match crate::access::trash_role(state, &viewer.user, found.project_id).await? {
        None => Err(Refusal::not_found("item in the trash")),
        Some(role) if role < needed => Err(Refusal::new(
            Kind::Forbidden,
            if needed == Role::Owner {
                "only the project's owners purge from its trash"
            } else {
                "viewers cannot restore from the trash"
            },
        )),
        Some(_) => Ok(found),
    }
}

/// The trash page again, with a refusal in words next to the list.
async fn again(
    state: &AppState,
    viewer: &Viewer,
    back: &str,
    e: Refusal,
) -> Result<Response, Refused> {
    if !e.kind.is_conflict() {
        return Err(e.into());
    }
    let problem = Some(super::words::sentence(&e.message));
    match back
        .strip_prefix("/p/")
        .and_then(|r| r.strip_suffix("/trash"))
    {
        Some(key) => project_page(state, viewer, key, None, problem, e.status()).await,
        None => all_page(state, viewer, None, problem, e.status()).await,
    }
}

/// `POST /trash/restore`: puts an item back where it was. A subtask whose parent is still in
/// the trash waits for it, and the page says so.
pub async fn restore(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<ItemForm>,
) -> Result<Response, Refused> {
    let back = form.back();
    match restore_item(&state, &viewer, &form).await {
        Ok(()) => Ok(redirect(&format!("{back}?done=restored"))),
        Err(e) => again(&state, &viewer, &back, e).await,
    }
}

async fn restore_item(state: &AppState, viewer: &Viewer, form: &ItemForm) -> Result<(), Refusal> {
    let item = trashed(state, viewer, form, Role::Editor).await?;
    state.store.restore(viewer.user.id, item.item).await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "purge.html")]
struct PurgePage {
    page: PageFrame,
    entry: Entry,
    back: String,
}

#[derive(Deserialize)]
pub struct PurgeParams {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: i64,
    #[serde(default)]
    back: String,
}

/// `GET /trash/purge?type=…&id=…`: the confirmation, a page of its own.
pub async fn confirm_purge(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<PurgeParams>,
) -> Result<Response, Refused> {
    let form = ItemForm {
        kind: params.kind,
        id: params.id,
        back: params.back,
    };
    let item = trashed(&state, &viewer, &form, Role::Owner).await?;
    Ok(render(
        StatusCode::OK,
        &PurgePage {
            page: viewer.frame("trash"),
            entry: entry(&state, &viewer, item, Role::Owner, &Default::default()),
            back: form.back(),
        },
    ))
}

/// `POST /trash/purge`: removes an item (and what it holds) for good.
pub async fn purge(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<ItemForm>,
) -> Result<Response, Refused> {
    let back = form.back();
    match purge_item(&state, &viewer, &form).await {
        Ok(()) => Ok(redirect(&format!("{back}?done=purged"))),
        Err(e) => again(&state, &viewer, &back, e).await,
    }
}

async fn purge_item(state: &AppState, viewer: &Viewer, form: &ItemForm) -> Result<(), Refusal> {
    let item = trashed(state, viewer, form, Role::Owner).await?;
    let counts = state.store.purge(viewer.user.id, item.item).await?;
    tracing::info!(project = %item.project_key, item = ?item.item, purged = counts.total(), "purged from the trash");
    Ok(())
}
