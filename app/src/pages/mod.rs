pub mod home;
pub mod login;
pub mod not_found;
pub mod product_detail;
pub mod products;
pub mod summary;
pub mod user_detail;
pub mod users;
