// The Asio types of the transport. Each I/O thread runs an io_context of its own, and a connection
// lives on one of them for its whole life (HttpServer, Listener): its handlers never run
// concurrently without a strand, and no request hands work from one thread to another. Concrete
// executors rather than any_io_executor: every connection holds a socket and a timer, and the
// type-erased executor costs 16 bytes more in each and an indirect call per completion.
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>

namespace zkpush::server::http {

namespace asio = boost::asio;

using Clock = std::chrono::steady_clock;
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;

}  // namespace zkpush::server::http
