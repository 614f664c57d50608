//! What one export is: the team, the report, the view's URL state and the
//! range, checked before anything is written.

use crate::db::Db;
use crate::domain::range::ResolvedRange;
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::export::{ExportParams, ExportReport};
use crate::report::Filter;
use crate::report::params::{ProductSort, Reading, TableOrder, UserTableQuery};
use crate::report::privacy::Privacy;
use crate::report::screens;

/// One export to produce: the team, what, and for which view.
#[derive(Clone, Debug)]
pub struct ExportInput {
    pub team: Team,
    pub report: ExportReport,
    pub params: ExportParams,
    pub range: ResolvedRange,
    pub privacy: Privacy,
}

impl ExportInput {
    /// Checks what the view names (product, user, sort) before anything is written.
    pub fn validate(&self) -> Result<()> {
        match self.report {
            ExportReport::Product if self.params.product.is_none() => {
                Err(Error::Invalid("the product export needs ?product=<slug>".into()))
            }
            ExportReport::User if self.params.user.is_none() => {
                Err(Error::Invalid("the user export needs ?user=<id>".into()))
            }
            ExportReport::ByProduct => self.product_order().map(drop),
            ExportReport::ByUser => self.user_table().map(drop),
            _ if self.params.sort.as_deref().is_some_and(|s| !s.is_empty()) => {
                Err(Error::Invalid(format!("the {} export has no sort", self.report.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// [`ExportInput::validate`], and the product and user it names exist
    /// (in this team): checked before a download starts.
    pub async fn check(&self, db: &Db) -> Result<()> {
        self.validate()?;
        if let Some(slug) = &self.params.product {
            screens::product_ref(db, slug).await?;
        }
        if let Some(user) = self.params.user {
            screens::user_ref(db, self.team.id, user).await?;
        }
        Ok(())
    }

    pub(super) fn filters(&self) -> Vec<Filter> {
        let mut filters = Vec::new();
        if let Some(product) = &self.params.product {
            filters.push(Filter::Product(product.clone()));
        }
        if let Some(user) = self.params.user {
            filters.push(Filter::User(user));
        }
        if let Some(search) = self.search() {
            filters.push(Filter::UserSearch(search.to_owned()));
        }
        filters
    }

    /// The user search, as the screen applies it: none while personal data is
    /// off (a search by name would tell who is in the team).
    pub(super) fn search(&self) -> Option<&str> {
        self.params.q.as_deref().map(str::trim).filter(|q| !q.is_empty() && self.team.personal_data)
    }

    /// The By user table as the view's URL sorts it, searched as the screen searches.
    pub(super) fn user_table(&self) -> Result<UserTableQuery> {
        let table = UserTableQuery::from_query(|key| self.params.get(key), Reading::Strict).map_err(Error::Invalid)?;
        Ok(UserTableQuery { search: self.search().unwrap_or_default().to_owned(), page: 1, ..table })
    }

    /// The By product table's order as the view's URL has it.
    pub(super) fn product_order(&self) -> Result<TableOrder<ProductSort>> {
        TableOrder::from_query(|key| self.params.get(key), Reading::Strict).map_err(Error::Invalid)
    }
}
