//! hashicorp/go-multierror as Nomad v0.6 renders it:
//! `N error(s) occurred:\n\n* e1\n* e2`, nested multi-errors embedded as one
//! item, and warnings rendered with the `N warning(s):` header.

/// An ordered list of error texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultiError {
    pub errors: Vec<String>,
}

impl MultiError {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one error text.
    pub fn push(&mut self, e: impl Into<String>) {
        self.errors.push(e.into());
    }

    /// Appends a child multi-error as **one** item (bare nesting), if it has
    /// any errors.
    pub fn push_nested(&mut self, child: MultiError) {
        if let Some(text) = child.render() {
            self.errors.push(text);
        }
    }

    /// Appends a child multi-error as one item behind `prefix`
    /// (`Task group web validation failed: …`), if it has any errors.
    pub fn push_prefixed(&mut self, prefix: &str, child: MultiError) {
        if let Some(text) = child.render() {
            self.errors.push(format!("{prefix}{text}"));
        }
    }

    /// Appends every item of `other` (go-multierror's one-level flattening).
    pub fn extend(&mut self, other: MultiError) {
        self.errors.extend(other.errors);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `None` when empty, else the rendered text.
    pub fn render(&self) -> Option<String> {
        render_list(&self.errors, "error(s) occurred:")
    }

    /// Renders as warnings (`N warning(s):`), or `""` when empty.
    pub fn render_warnings(&self) -> String {
        render_list(&self.errors, "warning(s):").unwrap_or_default()
    }

    /// `Err(rendered)` when non-empty.
    pub fn into_result(self) -> Result<(), String> {
        match self.render() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

fn render_list(items: &[String], header: &str) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let points: Vec<String> = items.iter().map(|e| format!("* {e}")).collect();
    Some(format!("{} {header}\n\n{}", items.len(), points.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_rendering_matches_nomad() {
        let mut task = MultiError::new();
        task.push("minimum CPU value is 20; got 1");
        let mut group = MultiError::new();
        group.push_prefixed("Task redis validation failed: ", task);
        let mut job = MultiError::new();
        job.push_prefixed("Task group web validation failed: ", group);
        assert_eq!(
            job.render().unwrap(),
            "1 error(s) occurred:\n\n* Task group web validation failed: 1 error(s) occurred:\n\n* Task redis validation failed: 1 error(s) occurred:\n\n* minimum CPU value is 20; got 1"
        );
        assert_eq!(MultiError::new().render(), None);
        let mut w = MultiError::new();
        w.push("a");
        w.push("b");
        assert_eq!(w.render_warnings(), "2 warning(s):\n\n* a\n* b");
    }
}
