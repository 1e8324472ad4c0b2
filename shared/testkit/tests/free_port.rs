//! `free_port` hands out each port once, and keeps it reserved against other processes.

use std::collections::HashSet;
use std::net::{TcpListener, UdpSocket};

use shop_testkit::free_port;

#[test]
fn a_port_is_handed_out_once_and_stays_free_for_the_service() {
    let ports: Vec<u16> = (0..500).map(|_| free_port()).collect();
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "no port is handed out twice");
    for port in ports {
        assert!(
            UdpSocket::bind(("127.0.0.1", port)).is_err(),
            "{port} is reserved: another test's free_port cannot take it"
        );
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "{port} is still free for the service to listen on"
        );
    }
}
