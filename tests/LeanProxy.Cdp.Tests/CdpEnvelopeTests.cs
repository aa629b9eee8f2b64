using System.Text;

namespace LeanProxy.Cdp.Tests;

/// <summary>The single-pass envelope scan, on a table of frames.</summary>
public sealed class CdpEnvelopeTests
{
    [TestCase("""{"id":7,"result":{"a":[1,{"b":2}]}}""", 7, "", "", """{"a":[1,{"b":2}]}""")]
    [TestCase("""{"result":{},"id":8,"sessionId":"S"}""", 8, "", "S", "{}")]
    [TestCase("""{"method":"Page.loadEventFired","params":{"timestamp":1.5},"sessionId":"AB"}""", -1, "Page.loadEventFired", "AB", """{"timestamp":1.5}""")]
    [TestCase("""{"method":"Target.targetCrashed","params":{"targetId":"T"}}""", -1, "Target.targetCrashed", "", """{"targetId":"T"}""")]
    [TestCase("""{"extra":{"deep":[{"id":99}]},"id":3}""", 3, "", "", "{}")]
    public void ScansIdMethodSessionAndPayload(string frame, int id, string method, string session, string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        Assert.That(CdpEnvelope.TryScan(bytes, out var envelope), Is.True);
        Assert.That(envelope.Id, Is.EqualTo(id));
        Assert.That(Encoding.UTF8.GetString(bytes.AsSpan(envelope.MethodStart, envelope.MethodLength)), Is.EqualTo(method));
        Assert.That(Encoding.UTF8.GetString(bytes.AsSpan(envelope.SessionStart, envelope.SessionLength)), Is.EqualTo(session));
        Assert.That(Encoding.UTF8.GetString(envelope.Params(bytes)), Is.EqualTo(payload));
        Assert.That(envelope.HasError, Is.False);
    }

    [TestCase("""{"id":1,"error":{"code":-32601,"message":"'Foo.bar' wasn't found"}}""", -32601, "'Foo.bar' wasn't found")]
    [TestCase("""{"id":1,"error":{"message":"Quote \" and \\u00e9 \u00e9","code":-32000,"data":"x"}}""", -32000, "Quote \" and \\u00e9 é")]
    public void ScansErrors(string frame, int code, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        Assert.That(CdpEnvelope.TryScan(bytes, out var envelope), Is.True);
        Assert.That(envelope.HasError, Is.True);
        Assert.That(envelope.ErrorCode, Is.EqualTo(code));
        Assert.That(envelope.ErrorMessage(bytes), Is.EqualTo(message));
    }

    [Test]
    public void AnEscapedErrorMessageWithInvalidUtf8IsReadWithReplacementCharacters()
    {
        // Found by bench/fuzz (cdp-envelope): the unescaping reader threw InvalidOperationException on the receive loop.
        byte[] bytes = [.. "{\"id\":7,\"error\":{\"code\":-32000,\"message\":\""u8, 0xED, .. "a\\\"x\\\"\"},\"sessionId\":\"S1\"}"u8];
        Assert.That(CdpEnvelope.TryScan(bytes, out var envelope), Is.True);
        Assert.That(envelope.ErrorMessage(bytes), Is.EqualTo("\uFFFDa\\\"x\\\""));
    }

    [Test]
    public void NonObjectsAreNotEnvelopes()
    {
        Assert.That(CdpEnvelope.TryScan("[1,2]"u8, out _), Is.False);
    }
}
