using System.Buffers.Binary;
using System.Numerics;

namespace LeanProxy.Listener.WebSockets;

/// <summary>
/// SHA-1 (FIPS 180-4), for the one thing RFC 6455 needs it for: the handshake's <c>Sec-WebSocket-Accept</c>. Written
/// here so that the host does not load OpenSSL (3.6 MB of its memory) to answer a handshake; never used for security.
/// </summary>
internal static class Sha1
{
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        var blocks = (data.Length + 8) / 64 + 1;
        Span<byte> last = stackalloc byte[128];
        var tail = data.Length % 64;
        data[(data.Length - tail)..].CopyTo(last);
        last[tail] = 0x80;
        var lastLength = tail + 9 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(last[(lastLength - 8)..], (ulong)data.Length * 8);
        Span<uint> w = stackalloc uint[80];
        for (var block = 0; block < blocks; block++)
        {
            var offset = block * 64;
            var chunk = offset + 64 <= data.Length - tail ? data.Slice(offset, 64) : last.Slice(offset - (data.Length - tail), 64);
            for (var i = 0; i < 16; i++)
            {
                w[i] = BinaryPrimitives.ReadUInt32BigEndian(chunk[(i * 4)..]);
            }

            for (var i = 16; i < 80; i++)
            {
                w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
            }

            uint a = h0, b = h1, c = h2, d = h3, e = h4;
            for (var i = 0; i < 80; i++)
            {
                var (f, k) = i switch
                {
                    < 20 => ((b & c) | (~b & d), 0x5A827999u),
                    < 40 => (b ^ c ^ d, 0x6ED9EBA1u),
                    < 60 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDCu),
                    _ => (b ^ c ^ d, 0xCA62C1D6u),
                };
                var temp = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
                e = d;
                d = c;
                c = BitOperations.RotateLeft(b, 30);
                b = a;
                a = temp;
            }

            h0 += a;
            h1 += b;
            h2 += c;
            h3 += d;
            h4 += e;
        }

        var hash = new byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(hash, h0);
        BinaryPrimitives.WriteUInt32BigEndian(hash.AsSpan(4), h1);
        BinaryPrimitives.WriteUInt32BigEndian(hash.AsSpan(8), h2);
        BinaryPrimitives.WriteUInt32BigEndian(hash.AsSpan(12), h3);
        BinaryPrimitives.WriteUInt32BigEndian(hash.AsSpan(16), h4);
        return hash;
    }
}
