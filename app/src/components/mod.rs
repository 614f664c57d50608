pub mod chart;
pub mod error_view;
pub mod export_bar;
pub mod header;
pub mod kpi;
pub mod layout;
pub mod range_picker;
pub mod table;
