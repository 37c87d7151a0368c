//! Who may see and change what. A project the caller cannot see answers 404 — never 403,
//! which would confirm it exists; a member without the needed role gets 403. Everything a
//! handler reaches through a project (tasks, comments, attachments, labels, trash) is checked
//! here, through the project it belongs to.

use taskflow_core::attachment::Attachment;
use taskflow_core::comment::Comment;
use taskflow_core::project::{Label, Project, ProjectKey, Role};
use taskflow_core::task::{Task, TaskKey};
use taskflow_core::trash::TrashRef;
use taskflow_core::user::{User, Username};
use taskflow_core::{AttachmentId, CommentId, LabelId, ProjectId};

use crate::error::{Kind, Refusal};
use crate::state::AppState;

/// The project, if `user` holds at least `needed` in it (administrators hold every role).
pub async fn project_for(
    state: &AppState,
    user: &User,
    key: &ProjectKey,
    needed: Role,
) -> Result<Project, Refusal> {
    Ok(project_with_role(state, user, key, needed).await?.0)
}

/// `project_for`, with the caller's role in the project; the project and the role come from
/// one query.
pub async fn project_with_role(
    state: &AppState,
    user: &User,
    key: &ProjectKey,
    needed: Role,
) -> Result<(Project, Role), Refusal> {
    let (project, role) = state.store.project_with_role(key, user.id).await?;
    let role = allowed(user, role, needed)?;
    Ok((project, role))
}

pub async fn check_role(
    state: &AppState,
    user: &User,
    project: &Project,
    needed: Role,
) -> Result<Role, Refusal> {
    if user.is_admin {
        return Ok(Role::Owner);
    }
    allowed(
        user,
        state.store.member_role(project.id, user.id).await?,
        needed,
    )
}

/// The role `user` acts with, given their membership `role`, if it is at least `needed`:
/// administrators hold every role; a non-member is told the project is not there.
fn allowed(user: &User, role: Option<Role>, needed: Role) -> Result<Role, Refusal> {
    if user.is_admin {
        return Ok(Role::Owner);
    }
    match role {
        None => Err(Refusal::not_found("project")),
        Some(role) if role >= needed => Ok(role),
        Some(role) => Err(Refusal::new(
            Kind::Forbidden,
            format!(
                "this needs the {} role; you are a {}",
                needed.as_str(),
                role.as_str()
            ),
        )),
    }
}

pub fn parse_key(raw: &str) -> Result<ProjectKey, Refusal> {
    ProjectKey::parse(raw).map_err(|_| Refusal::not_found("project"))
}

/// A task the caller can see with at least the `needed` role (404 when they cannot see it,
/// 403 when their role is too low), and its project.
pub async fn visible_task(
    state: &AppState,
    user: &User,
    raw_key: &str,
    needed: Role,
) -> Result<(Task, Project), Refusal> {
    let (task, project, _) = visible_task_with_role(state, user, raw_key, needed).await?;
    Ok((task, project))
}

/// `visible_task`, with the caller's role in the project (for pages that show more to owners).
pub async fn visible_task_with_role(
    state: &AppState,
    user: &User,
    raw_key: &str,
    needed: Role,
) -> Result<(Task, Project, Role), Refusal> {
    let key = TaskKey::parse(raw_key).map_err(|_| Refusal::not_found("task"))?;
    // A task in a project that is not there, or that the caller cannot see, is not there
    // either.
    let hidden = |e: Refusal| {
        if e.kind == Kind::NotFound {
            Refusal::not_found("task")
        } else {
            e
        }
    };
    match state.store.task_with_role(&key, user.id).await? {
        Some((task, project, role)) => {
            let role = allowed(user, role, needed).map_err(hidden)?;
            Ok((task, project, role))
        }
        None => {
            // No such task: a member whose role is too low is told so (403), as they would
            // be for a task that is there; anyone else is told it is not there.
            project_with_role(state, user, &key.project, needed)
                .await
                .map_err(hidden)?;
            Err(Refusal::not_found("task"))
        }
    }
}

/// A comment the caller may change: theirs, or any in a project they own.
pub async fn own_comment(state: &AppState, user: &User, id: i64) -> Result<Comment, Refusal> {
    let comment = state.store.comment(CommentId(id)).await?;
    let task = state.store.task(comment.task_id).await?;
    let project = state.store.project(task.project_id).await?;
    let role = match check_role(state, user, &project, Role::Viewer).await {
        Ok(role) => role,
        Err(e) if e.kind == Kind::NotFound => return Err(Refusal::not_found("comment")),
        Err(e) => return Err(e),
    };
    if comment.author_id == Some(user.id) && role >= Role::Editor || role == Role::Owner {
        Ok(comment)
    } else {
        Err(Refusal::new(
            Kind::Forbidden,
            "only the author or a project owner can change a comment",
        ))
    }
}

/// A live attachment the caller may move to the trash: their own upload (while they can still
/// write in the project), or any as a project owner.
pub async fn deletable_attachment(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<Attachment, Refusal> {
    let (attachment, role) = visible_attachment(state, user, id, Role::Viewer).await?;
    let own = attachment.uploaded_by == Some(user.id) && role >= Role::Editor;
    if own || role == Role::Owner {
        Ok(attachment)
    } else {
        Err(Refusal::new(
            Kind::Forbidden,
            "only the uploader or a project owner can delete an attachment",
        ))
    }
}

/// A live attachment the caller can see with at least `needed`, and the caller's role.
pub async fn visible_attachment(
    state: &AppState,
    user: &User,
    id: i64,
    needed: Role,
) -> Result<(Attachment, Role), Refusal> {
    let attachment = state.store.attachment(AttachmentId(id)).await?;
    let task = state.store.task(attachment.task_id).await?;
    let project = state.store.project(task.project_id).await?;
    match check_role(state, user, &project, needed).await {
        Ok(role) => Ok((attachment, role)),
        Err(e) if e.kind == Kind::NotFound => Err(Refusal::not_found("attachment")),
        Err(e) => Err(e),
    }
}

/// The label, if it belongs to the project (404 otherwise).
pub async fn label_in(
    state: &AppState,
    project: taskflow_core::ProjectId,
    id: i64,
) -> Result<Label, Refusal> {
    match state.store.label(LabelId(id)).await {
        Ok(label) if label.project_id == project => Ok(label),
        Ok(_) => Err(Refusal::not_found("label")),
        Err(e) => Err(e.into()),
    }
}

pub fn admin_only(user: &User) -> Result<(), Refusal> {
    if user.is_admin {
        Ok(())
    } else {
        Err(Refusal::new(
            Kind::Forbidden,
            "only administrators manage users",
        ))
    }
}

/// The user named in the path, for an administrator.
pub async fn administered(state: &AppState, admin: &User, username: &str) -> Result<User, Refusal> {
    admin_only(admin)?;
    let name = Username::parse(username).map_err(|_| Refusal::not_found("user"))?;
    Ok(state.store.user_by_username(&name).await?)
}

/// The item, if it is in this project's trash (404 otherwise).
pub async fn item_in(
    state: &AppState,
    project: &Project,
    item: TrashRef,
) -> Result<TrashRef, Refusal> {
    let trash = state.store.trash(Some(project.id)).await?;
    trash
        .iter()
        .find(|t| t.item == item)
        .map(|t| t.item)
        .ok_or_else(|| Refusal::not_found("item in this project's trash"))
}

/// `user`'s role for the trash of `project`: administrators act as owners; `None` for
/// someone outside the project.
pub async fn trash_role(
    state: &AppState,
    user: &User,
    project: ProjectId,
) -> Result<Option<Role>, Refusal> {
    if user.is_admin {
        return Ok(Some(Role::Owner));
    }
    Ok(state.store.member_role(project, user.id).await?)
}

/// Whether `user` owns (or administers) the project; non-members get 404, other members 403.
pub async fn owns(state: &AppState, user: &User, project: ProjectId) -> Result<(), Refusal> {
    match trash_role(state, user, project).await? {
        Some(Role::Owner) => Ok(()),
        Some(_) => Err(Refusal::new(
            Kind::Forbidden,
            "only the project's owners manage its trash here",
        )),
        None => Err(Refusal::not_found("item in the trash")),
    }
}

/// The item in anyone's trash, with where it is (404 when it is not in the trash).
pub async fn find_trashed(
    state: &AppState,
    wanted: TrashRef,
) -> Result<taskflow_core::trash::TrashItem, Refusal> {
    state
        .store
        .trash(None)
        .await?
        .into_iter()
        .find(|t| t.item == wanted)
        .ok_or_else(|| Refusal::not_found("item in the trash"))
}

/// The trashed item and its project, checked to belong to a project the caller owns.
pub async fn owned_item(
    state: &AppState,
    user: &User,
    wanted: TrashRef,
) -> Result<TrashRef, Refusal> {
    let found = find_trashed(state, wanted).await?;
    owns(state, user, found.project_id).await?;
    Ok(found.item)
}

/// Whether the person named `name` may be made a member of `project` (or have their role
/// changed) by `actor`, who owns it.
pub enum Addable {
    Yes(User),
    /// No such person, or a name that cannot be one.
    Unknown,
    /// Only administrators add people (`TASKFLOW_MEMBERS_ADDED_BY=administrators`), and this
    /// person is not a member yet. Said the same whether the person exists or not.
    AdministratorsOnly,
}

pub async fn addable_member(
    state: &AppState,
    actor: &User,
    project: &Project,
    name: &str,
) -> Result<Addable, Refusal> {
    let person = match Username::parse(name) {
        Ok(username) => match state.store.user_by_username(&username).await {
            Ok(user) => Some(user),
            Err(taskflow_core::StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    if state.auth.members_by_administrators && !actor.is_admin {
        let member = match &person {
            Some(person) => state
                .store
                .members(project.id)
                .await?
                .iter()
                .any(|m| m.user_id == person.id),
            None => false,
        };
        if !member {
            return Ok(Addable::AdministratorsOnly);
        }
    }
    Ok(person.map_or(Addable::Unknown, Addable::Yes))
}

/// A change refused because the project is archived (read-only until unarchived).
pub fn archived() -> Refusal {
    Refusal::new(
        Kind::Archived,
        "this project is archived, so it is read-only",
    )
}

/// The project `key` names and `user`'s role in it, if they may see it.
pub async fn viewed_project(
    state: &AppState,
    user: &User,
    key: &str,
) -> Result<(Project, Role), Refusal> {
    project_with_role(state, user, &parse_key(key)?, Role::Viewer).await
}

/// The project `key` names if `user` may add and move tasks in it.
pub async fn editable_project(
    state: &AppState,
    user: &User,
    key: &str,
) -> Result<Project, Refusal> {
    match viewed_project(state, user, key).await? {
        (project, role) if can_edit(&project, role) => Ok(project),
        (project, _) if project.archived => Err(archived()),
        _ => Err(Refusal::new(Kind::Forbidden, "viewers cannot change tasks")),
    }
}

/// Whether the viewer may move cards (and add tasks) here.
pub fn can_edit(project: &Project, role: Role) -> bool {
    !project.archived && role >= Role::Editor
}
