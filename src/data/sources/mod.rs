//! The built-in data sources, registered like a plugin's.

mod csv;
mod gradnorm_toy;
mod idx;
mod synthetic;

pub use csv::Csv;
pub use gradnorm_toy::GradnormToy;
pub use idx::Idx;
pub use synthetic::Synthetic;

pub fn register(r: &mut mtl_plugin::Registry) {
    r.data_source::<Idx>()
        .data_source::<Csv>()
        .data_source::<Synthetic>()
        .data_source::<GradnormToy>();
}
