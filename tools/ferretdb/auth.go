package main

// SCRAM authentication in front of the embedded FerretDB, which has none (its SCRAM
// support is internal and off in the embeddable package). With a user configured, the
// test server answers saslStart/saslContinue itself (SCRAM-SHA-256 and SCRAM-SHA-1, as
// MongoDB does), advertises both in hello's saslSupportedMechs, refuses every other
// command but the handshake ones until the connection has authenticated, and forwards
// the rest, byte for byte, to FerretDB on a private loopback port. So a client configured
// as for MongoDB with a root user (inferd's MONGO_USERNAME/MONGO_PASSWORD) logs in, and a
// wrong password is refused with MongoDB's AuthenticationFailed (code 18).

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

const (
	opReply = 1
	opQuery = 2004
	opMsg   = 2013
	// Largest message accepted, as MongoDB's maxMessageSizeBytes.
	maxMessageBytes = 48_000_000
	// MongoDB's default iteration counts for stored SCRAM credentials.
	sha1Iterations   = 10000
	sha256Iterations = 15000
)

// Commands a client may send before it has authenticated.
var preAuthCommands = map[string]bool{
	"hello": true, "ismaster": true, "ismaster ": true, "buildinfo": true, "ping": true,
	"saslstart": true, "saslcontinue": true, "getnonce": true, "endsessions": true,
}

type authFront struct {
	user, password string
	backend        string
	logger         *slog.Logger
	servers        map[string]*scram.Server // by mechanism
}

func newAuthFront(user, password, backend string, logger *slog.Logger) (*authFront, error) {
	a := &authFront{user: user, password: password, backend: backend, logger: logger,
		servers: map[string]*scram.Server{}}
	for _, m := range []struct {
		name  string
		hash  scram.HashGeneratorFcn
		pass  string
		iters int
		salt  int // bytes: MongoDB's (the digest's size less 4), which drivers check
	}{
		// MongoDB's SCRAM-SHA-1 password is the hex MD5 of "user:mongo:password".
		{"SCRAM-SHA-1", scram.SHA1, mongoSHA1Password(user, password), sha1Iterations, 16},
		{"SCRAM-SHA-256", scram.SHA256, password, sha256Iterations, 28},
	} {
		salt := make([]byte, m.salt)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		client, err := m.hash.NewClient(user, m.pass, "")
		if err != nil {
			return nil, fmt.Errorf("%s credentials: %w", m.name, err)
		}
		stored := client.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: m.iters})
		server, err := m.hash.NewServer(func(name string) (scram.StoredCredentials, error) {
			if name != user {
				return scram.StoredCredentials{}, errors.New("unknown user")
			}
			return stored, nil
		})
		if err != nil {
			return nil, err
		}
		a.servers[m.name] = server
	}
	return a, nil
}

func mongoSHA1Password(user, password string) string {
	sum := md5.Sum([]byte(user + ":mongo:" + password))
	return hex.EncodeToString(sum[:])
}

// serve accepts clients on l until it is closed.
func (a *authFront) serve(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go a.handle(conn)
	}
}

type message struct {
	header []byte // 16 bytes: length, requestID, responseTo, opCode
	body   []byte
}

func (m message) requestID() int32 { return int32(binary.LittleEndian.Uint32(m.header[4:])) }
func (m message) opCode() int32    { return int32(binary.LittleEndian.Uint32(m.header[12:])) }
func (m message) bytes() []byte    { return append(append([]byte{}, m.header...), m.body...) }

func readMessage(r io.Reader) (message, error) {
	header := make([]byte, 16)
	if _, err := io.ReadFull(r, header); err != nil {
		return message{}, err
	}
	length := int(binary.LittleEndian.Uint32(header))
	if length < 16 || length > maxMessageBytes {
		return message{}, fmt.Errorf("message of %d bytes", length)
	}
	body := make([]byte, length-16)
	if _, err := io.ReadFull(r, body); err != nil {
		return message{}, err
	}
	return message{header, body}, nil
}

func newMessage(opCode, responseTo int32, body []byte) message {
	header := make([]byte, 16)
	binary.LittleEndian.PutUint32(header, uint32(16+len(body)))
	binary.LittleEndian.PutUint32(header[8:], uint32(responseTo))
	binary.LittleEndian.PutUint32(header[12:], uint32(opCode))
	return message{header, body}
}

// command is the document a client message carries as its command, where it has one.
type command struct {
	doc   bson.D
	flags uint32 // OP_MSG's flag bits
	query bool   // OP_QUERY, answered with OP_REPLY
}

func (c command) name() string {
	if len(c.doc) == 0 {
		return ""
	}
	return strings.ToLower(c.doc[0].Key)
}

func (c command) get(key string) (interface{}, bool) {
	for _, e := range c.doc {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func parseCommand(m message) (command, bool) {
	switch m.opCode() {
	case opMsg:
		// flagBits, then sections; the body is the one of kind 0.
		if len(m.body) < 5 {
			return command{}, false
		}
		flags := binary.LittleEndian.Uint32(m.body)
		for rest := m.body[4:]; len(rest) > 5; {
			kind := rest[0]
			size := int(binary.LittleEndian.Uint32(rest[1:]))
			if size < 5 || size+1 > len(rest) {
				return command{}, false
			}
			if kind == 0 {
				var doc bson.D
				if bson.Unmarshal(rest[1:1+size], &doc) != nil {
					return command{}, false
				}
				return command{doc: doc, flags: flags}, true
			}
			rest = rest[1+size:]
		}
	case opQuery:
		// flags, fullCollectionName (C string), numberToSkip, numberToReturn, query.
		rest := m.body[4:]
		end := strings.IndexByte(string(rest), 0)
		if end < 0 || !strings.HasSuffix(string(rest[:end]), ".$cmd") || len(rest) < end+9+5 {
			return command{}, false
		}
		rest = rest[end+9:]
		size := int(binary.LittleEndian.Uint32(rest))
		if size > len(rest) {
			return command{}, false
		}
		var doc bson.D
		if bson.Unmarshal(rest[:size], &doc) != nil {
			return command{}, false
		}
		if len(doc) == 1 && (doc[0].Key == "$query" || doc[0].Key == "query") {
			if inner, ok := doc[0].Value.(bson.D); ok {
				doc = inner
			}
		}
		return command{doc: doc, query: true}, true
	}
	return command{}, false
}

// reply builds the answer to c's message (requestID) with doc.
func reply(c command, requestID int32, doc bson.D) (message, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return message{}, err
	}
	if c.query {
		body := make([]byte, 20, 20+len(raw)) // responseFlags, cursorID, startingFrom, numberReturned
		binary.LittleEndian.PutUint32(body[16:], 1)
		return newMessage(opReply, requestID, append(body, raw...)), nil
	}
	body := append(make([]byte, 4), 0) // no flags; section of kind 0
	return newMessage(opMsg, requestID, append(body, raw...)), nil
}

// replyDoc is the document of a reply from FerretDB (OP_MSG or OP_REPLY).
func replyDoc(m message) (bson.D, bool) {
	var raw []byte
	switch m.opCode() {
	case opMsg:
		if len(m.body) < 5 || m.body[4] != 0 {
			return nil, false
		}
		raw = m.body[5:]
	case opReply:
		if len(m.body) < 20 {
			return nil, false
		}
		raw = m.body[20:]
	default:
		return nil, false
	}
	var doc bson.D
	if bson.Unmarshal(raw, &doc) != nil {
		return nil, false
	}
	return doc, true
}

func failure(code int32, codeName, text string) bson.D {
	return bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: text},
		{Key: "code", Value: code}, {Key: "codeName", Value: codeName}}
}

func (a *authFront) handle(client net.Conn) {
	defer client.Close()
	backend, err := net.Dial("tcp", a.backend)
	if err != nil {
		a.logger.Error("auth front: backend", "error", err)
		return
	}
	defer backend.Close()
	var conversation *scram.ServerConversation
	authenticated := false
	for {
		m, err := readMessage(client)
		if err != nil {
			return
		}
		c, ok := parseCommand(m)
		var answer bson.D
		switch name := c.name(); {
		case !ok:
			if !authenticated {
				return // nothing but commands before authentication
			}
		case name == "saslstart":
			mechanism, _ := c.get("mechanism")
			server := a.servers[fmt.Sprint(mechanism)]
			if server == nil {
				answer = failure(2, "BadValue", fmt.Sprintf("Received authentication for mechanism %v which is not enabled", mechanism))
				break
			}
			conversation = server.NewConversation()
			answer = a.step(conversation, c, &authenticated)
		case name == "saslcontinue":
			if conversation == nil {
				answer = failure(17, "ProtocolError", "No SASL session state found")
				break
			}
			answer = a.step(conversation, c, &authenticated)
		case !authenticated && !preAuthCommands[name]:
			answer = failure(13, "Unauthorized", fmt.Sprintf("command %s requires authentication", c.doc[0].Key))
		}
		if answer != nil {
			out, err := reply(c, m.requestID(), answer)
			if err != nil || writeAll(client, out.bytes()) != nil {
				return
			}
			continue
		}
		if writeAll(backend, m.bytes()) != nil {
			return
		}
		if c.flags&2 != 0 { // moreToCome: no reply
			continue
		}
		r, err := readMessage(backend)
		if err != nil {
			return
		}
		if _, asked := c.get("saslSupportedMechs"); asked {
			r = withMechanisms(r, c, m.requestID())
		}
		if writeAll(client, r.bytes()) != nil {
			return
		}
	}
}

// step runs one SCRAM step on the payload of a saslStart or saslContinue.
func (a *authFront) step(conv *scram.ServerConversation, c command, authenticated *bool) bson.D {
	payload, _ := c.get("payload")
	var in []byte
	switch p := payload.(type) {
	case primitive.Binary:
		in = p.Data
	case string:
		in = []byte(p)
	}
	if conv.Done() { // the client's empty message after the server's final one
		return bson.D{{Key: "conversationId", Value: int32(1)}, {Key: "done", Value: true},
			{Key: "payload", Value: primitive.Binary{Data: []byte{}}}, {Key: "ok", Value: 1.0}}
	}
	out, err := conv.Step(string(in))
	if err != nil {
		return failure(18, "AuthenticationFailed", "Authentication failed.")
	}
	if conv.Valid() {
		*authenticated = true
	}
	return bson.D{{Key: "conversationId", Value: int32(1)}, {Key: "done", Value: conv.Done()},
		{Key: "payload", Value: primitive.Binary{Data: []byte(out)}}, {Key: "ok", Value: 1.0}}
}

// withMechanisms adds saslSupportedMechs to a hello reply, as MongoDB does for a user.
func withMechanisms(r message, c command, requestID int32) message {
	doc, ok := replyDoc(r)
	if !ok {
		return r
	}
	doc = append(doc, bson.E{Key: "saslSupportedMechs", Value: bson.A{"SCRAM-SHA-1", "SCRAM-SHA-256"}})
	out, err := reply(c, requestID, doc)
	if err != nil {
		return r
	}
	return out
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}
