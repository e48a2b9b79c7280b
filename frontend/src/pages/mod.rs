pub mod device;
pub mod home;
pub mod overview;
pub mod probe_requests;
pub mod settings;
pub mod sign_in;
