package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// dualListener serves TLS and plain HTTP on one port: it peeks at each connection's first
// byte (0x16 starts a TLS handshake) and hands the connection to the TLS or plain side.
// With -tls the SOAP endpoint is HTTPS while the control endpoint stays reachable as
// plain http://host:port/_mm on the same port.
type dualListener struct {
	raw   net.Listener
	tls   *chanListener
	plain *chanListener
}

func newDualListener(raw net.Listener, cfg *tls.Config) *dualListener {
	d := &dualListener{raw: raw, tls: newChanListener(raw.Addr()), plain: newChanListener(raw.Addr())}
	go d.run(cfg)
	return d
}

func (d *dualListener) run(cfg *tls.Config) {
	for {
		c, err := d.raw.Accept()
		if err != nil {
			d.tls.close()
			d.plain.close()
			return
		}
		go func(c net.Conn) {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			b, err := br.Peek(1)
			_ = c.SetReadDeadline(time.Time{})
			if err != nil {
				c.Close()
				return
			}
			pc := &peekedConn{Conn: c, r: br}
			if b[0] == 0x16 {
				d.tls.push(tls.Server(pc, cfg))
			} else {
				d.plain.push(pc)
			}
		}(c)
	}
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// chanListener is a net.Listener fed by a channel.
type chanListener struct {
	ch     chan net.Conn
	addr   net.Addr
	once   sync.Once
	closed chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{ch: make(chan net.Conn), addr: addr, closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, errors.New("listener closed")
	}
}

func (l *chanListener) close() { l.once.Do(func() { close(l.closed) }) }

func (l *chanListener) Close() error {
	l.close()
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
