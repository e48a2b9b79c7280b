pub mod probe_requests;
