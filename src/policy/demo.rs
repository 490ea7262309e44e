//! Generator of synthetic policy libraries.
