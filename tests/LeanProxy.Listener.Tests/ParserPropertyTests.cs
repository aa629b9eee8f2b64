using System.Buffers;
using System.Text;
using CsCheck;
using LeanProxy.Listener.Http;

namespace LeanProxy.Listener.Tests;

/// <summary>
/// Properties of the request-head parser and the chunked decoder over generated inputs (CsCheck; a failure prints the
/// seed that reproduces it): a valid request round-trips; any input — valid, mutated or random — split at any points
/// parses exactly as it does whole; nothing but <see cref="BadHttpRequestException"/> ever comes out of bad input.
/// </summary>
public sealed class ParserPropertyTests
{
    private const string TokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private const string PathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/";
    private const string ValueChars = " \t!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
    private static readonly HttpListenerOptions Limits = new();

    private static readonly Gen<string> Token = Gen.Char[TokenChars].Array[1, 12].Select(c => new string(c));

    private static readonly Gen<string> FieldValue = Gen.Char[ValueChars].Array[0, 40].Select(c => new string(c).Trim(' ', '\t'));

    /// <summary>A valid request: method, origin-form target, version, fields (Host first), and its bytes.</summary>
    private static readonly Gen<ValidRequest> Requests = Gen.Select(
        Gen.OneOf<string>(Gen.OneOf("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"), Token),
        Gen.Char[PathChars].Array[0, 60].Select(c => "/" + new string(c).Replace("%", "%25", StringComparison.Ordinal)),
        Gen.Bool,
        Gen.Select(Token.Where(n => !IsFraming(n)), FieldValue).Array[0, 12],
        Gen.Int[0, 3]).Select((method, target, http10, fields, leadingEmptyLines) => new ValidRequest(method, target, http10 ? "HTTP/1.0" : "HTTP/1.1", [("Host", "example.test"), .. fields], leadingEmptyLines));

    [Test]
    public void AValidRequestRoundTrips() => Requests.Sample(request =>
    {
        var bytes = request.Bytes("NEXT");
        var parsed = Parse(new ReadOnlySequence<byte>(bytes));
        Assert.That(parsed.Outcome, Is.EqualTo("head"), request.Text);
        Assert.That(parsed.Method, Is.EqualTo(request.Method));
        Assert.That(parsed.Target, Is.EqualTo(request.Target));
        Assert.That(parsed.Version, Is.EqualTo(request.Version == "HTTP/1.0" ? HttpVersion.Http10 : HttpVersion.Http11));
        Assert.That(parsed.Fields, Is.EqualTo(request.Fields.Select(f => f.Name + ": " + f.Value)));
        Assert.That(parsed.Rest, Is.EqualTo("NEXT"), "the head ends where the next request begins");
    }, iter: 2_000);

    [Test]
    public void AnyValidRequestSplitAnywhereParsesAsItDoesWhole() =>
        Gen.Select(Requests, Gen.Int[1, 6], Gen.Int).Sample((request, pieces, seed) =>
        {
            var bytes = request.Bytes("NEXT");
            Assert.That(Parse(Split(bytes, pieces, seed)), Is.EqualTo(Parse(new ReadOnlySequence<byte>(bytes))), request.Text);
        }, iter: 2_000);

    [Test]
    public void AnyMutatedOrRandomInputSplitAnywhereParsesAsItDoesWholeAndOnlyEverFailsAsABadRequest() =>
        Gen.Select(Inputs(), Gen.Int[1, 6], Gen.Int).Sample((bytes, pieces, seed) =>
        {
            var whole = Parse(new ReadOnlySequence<byte>(bytes));
            Assert.That(whole.Outcome, Is.AnyOf("head", "more", "bad"), whole.Reason);
            Assert.That(Parse(Split(bytes, pieces, seed)), Is.EqualTo(whole), Encoding.Latin1.GetString(bytes));
        }, iter: 5_000);

    [Test]
    public void AChunkedBodyFedInAnyPiecesDecodesToItsBytes() =>
        Gen.Select(Gen.Byte.Array[0, 3000], Gen.Int[1, 400], Gen.Bool, Gen.Bool, Gen.Int[1, 8], Gen.Int).Sample((body, chunk, extensions, trailers, pieces, seed) =>
        {
            var encoded = new StringBuilder();
            for (var at = 0; at < body.Length; at += chunk)
            {
                var length = Math.Min(chunk, body.Length - at);
                encoded.Append(length.ToString(extensions ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture));
                encoded.Append(extensions ? ";name=value;x=\"q\"\r\n" : "\r\n");
                encoded.Append(Encoding.Latin1.GetString(body, at, length)).Append("\r\n");
            }

            encoded.Append("0\r\n").Append(trailers ? "X-Trailer: 1\r\nX-Other: two\r\n" : string.Empty).Append("\r\nNEXT");
            var (decoded, rest) = Decode(Encoding.Latin1.GetBytes(encoded.ToString()), pieces, seed);
            Assert.That(decoded, Is.EqualTo(body));
            Assert.That(rest, Is.EqualTo("NEXT"));
        }, iter: 1_000);

    /// <summary>Valid requests with bytes replaced, inserted or removed, and plain random bytes.</summary>
    private static Gen<byte[]> Inputs() => Gen.OneOf(
        Gen.Select(Requests, Gen.Int[1, 5], Gen.Int).Select((request, edits, seed) => Mutate(request.Bytes(string.Empty), edits, seed)),
        Gen.Byte.Array[0, 300],
        Gen.Char["GET /HTP1.:\r\n aHost:0"].Array[0, 200].Select(c => Encoding.Latin1.GetBytes(c)));

    private static byte[] Mutate(byte[] bytes, int edits, int seed)
    {
        var random = new Random(seed);
        var list = bytes.ToList();
        for (var i = 0; i < edits; i++)
        {
            var at = random.Next(list.Count + 1);
            var b = (byte)"\r\n :\t\0xA/%\u0080\u00ff"[random.Next(12)];
            switch (random.Next(3))
            {
                case 0 when at < list.Count: list[at] = b; break;
                case 1: list.Insert(at, b); break;
                default: if (at < list.Count) list.RemoveAt(at); break;
            }
        }

        return [.. list];
    }

    private static bool IsFraming(string name) =>
        name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase);

    /// <summary>The bytes in up to <paramref name="pieces"/> segments, cut at points drawn from <paramref name="seed"/>.</summary>
    private static ReadOnlySequence<byte> Split(byte[] bytes, int pieces, int seed)
    {
        var random = new Random(seed);
        return Segments.Split(bytes, Enumerable.Range(0, pieces - 1).Select(_ => random.Next(bytes.Length + 1)).ToList());
    }

    private static Parsed Parse(ReadOnlySequence<byte> sequence)
    {
        var request = new ProxyRequest();
        try
        {
            if (!HttpParser.TryParseHead(sequence, request, Limits, out var end, out _))
            {
                return new Parsed("more");
            }

            return new Parsed("head")
            {
                Method = request.Method,
                Target = request.TargetString,
                Version = request.Version,
                Fields = [.. Enumerable.Range(0, request.HeaderCount).Select(i => Encoding.Latin1.GetString(request.HeaderName(i)) + ": " + Encoding.Latin1.GetString(request.HeaderValue(i)))],
                Rest = Encoding.Latin1.GetString(sequence.Slice(end).ToArray()),
            };
        }
        catch (BadHttpRequestException ex)
        {
            return new Parsed("bad") { Reason = ex.StatusCode + " " + ex.Message };
        }
    }

    /// <summary>Feeds the encoded body to the decoder in pieces, as a pipe would: what it did not consume comes again with the next piece.</summary>
    private static (byte[] Body, string Remainder) Decode(byte[] encoded, int pieces, int seed)
    {
        var random = new Random(seed);
        var decoder = new ChunkedBodyDecoder();
        var output = new ArrayBufferWriter<byte>();
        var available = 0;
        var consumed = 0;
        while (true)
        {
            available = Math.Min(encoded.Length, available + 1 + random.Next(Math.Max(1, encoded.Length / pieces)));
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(encoded, consumed, available - consumed));
            var done = decoder.TryDecode(ref reader, output, Limits);
            consumed += (int)reader.Consumed;
            if (done)
            {
                return (output.WrittenSpan.ToArray(), Encoding.Latin1.GetString(encoded, consumed, encoded.Length - consumed));
            }

            Assert.That(available, Is.LessThan(encoded.Length), "the decoder asked for more after the whole body");
        }
    }

    private sealed record ValidRequest(string Method, string Target, string Version, (string Name, string Value)[] Fields, int LeadingEmptyLines)
    {
        public string Text => string.Concat(Enumerable.Repeat("\r\n", LeadingEmptyLines)) + $"{Method} {Target} {Version}\r\n" + string.Concat(Fields.Select(f => $"{f.Name}: {f.Value}\r\n")) + "\r\n";

        public byte[] Bytes(string next) => Encoding.Latin1.GetBytes(Text + next);
    }

    private sealed record Parsed(string Outcome)
    {
        public string? Method { get; init; }

        public string? Target { get; init; }

        public HttpVersion Version { get; init; }

        public string[] Fields { get; init; } = [];

        public string? Rest { get; init; }

        public string? Reason { get; init; }

        public bool Equals(Parsed? other) => other is not null && Outcome == other.Outcome && Method == other.Method && Target == other.Target
            && Version == other.Version && Fields.SequenceEqual(other.Fields) && Rest == other.Rest && Reason == other.Reason;

        public override int GetHashCode() => HashCode.Combine(Outcome, Method, Target, Reason);
    }
}
