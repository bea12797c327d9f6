//! Memory cgroups: fixture trees, deep hierarchies, and live cgroups the tests create (root). One
//! test binary for the topic (each file a module).

mod cgroups_deep;
mod cgroups_fixtures;
mod cgroups_live;
