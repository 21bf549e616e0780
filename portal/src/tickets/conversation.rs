//! A ticket's conversation as pages show it: each comment with the files
//! attached to it; the files of the ticket itself apart.

use porta_core::db::comments::Comment;
use porta_core::db::documents::Document;

/// A comment and the files attached to it.
pub struct Entry {
    pub comment: Comment,
    pub documents: Vec<Document>,
}

impl Entry {
    pub fn is_from_staff(&self) -> bool {
        self.comment.author_type == porta_core::user_type::UserType::Internal
    }
}

/// Files under their comments, the rest under the ticket.
pub fn group(comments: Vec<Comment>, documents: Vec<Document>) -> (Vec<Entry>, Vec<Document>) {
    let (mut by_comment, own): (Vec<Document>, Vec<Document>) =
        documents.into_iter().partition(|d| d.comment_id.is_some());
    let entries = comments
        .into_iter()
        .map(|comment| {
            let (mine, rest): (Vec<Document>, Vec<Document>) = by_comment
                .drain(..)
                .partition(|d| d.comment_id == Some(comment.id));
            by_comment = rest;
            Entry {
                comment,
                documents: mine,
            }
        })
        .collect();
    (entries, own)
}
