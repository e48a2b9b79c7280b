pub mod device;
pub mod home;
pub mod overview;
pub mod probe_requests;
pub mod sign_in;
