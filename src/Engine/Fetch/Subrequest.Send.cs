using System.Net;
using System.Net.Http.Headers;

namespace LeanProxy.Engine.Fetch;

/// <summary>The request: built from what the handler gave, sent, and its redirects followed hop by hop.</summary>
internal sealed partial class Subrequest
{
    private async Task<(HttpResponseMessage Response, Uri Url, bool Redirected)> SendFollowingAsync(SubrequestClient client,
        CancellationToken cancellationToken)
    {
        var url = _start.Url;
        var method = _start.Method;
        var body = _start.Body;
        HttpContent? upload = Upload;
        var headers = _start.Headers;
        for (var hop = 0; ; hop++)
        {
            using var request = Build(method, url, headers, body, upload);
            var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location || _start.Redirect == RedirectMode.Manual)
            {
                return (response, url, hop > 0);
            }

            response.Dispose();
            if (_start.Redirect == RedirectMode.Error)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} redirected (status {status}) and its redirect mode is \"error\".");
            }

            if (hop == MaxRedirects)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected more than {MaxRedirects} times.");
            }

            var next = new Uri(url, location);
            if (next.Scheme is not ("http" or "https"))
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected to {next.Scheme}:, which is not http(s).");
            }

            if (status == 303 && method != "HEAD" || status is 301 or 302 && method == "POST")
            {
                (method, body, upload) = ("GET", null, null);
                headers = [.. headers.Where(h => !h.Key.StartsWith("content-", StringComparison.OrdinalIgnoreCase))];
            }
            else if (upload is not null)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected (status {status}) and its body was a stream, " +
                    "which cannot be sent again.");
            }

            if (!SameOrigin(url, next))
            {
                headers = [.. headers.Where(h => !h.Key.Equals("authorization", StringComparison.OrdinalIgnoreCase)
                    && !h.Key.Equals("cookie", StringComparison.OrdinalIgnoreCase)
                    && !h.Key.Equals("proxy-authorization", StringComparison.OrdinalIgnoreCase))];
            }

            url = next;
        }
    }

    private static HttpRequestMessage Build(string method, Uri url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[]? body,
        HttpContent? upload)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }
        else if (upload is not null)
        {
            request.Content = upload;
        }

        foreach (var (name, value) in headers)
        {
            if (Dropped.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    /// <summary>Every header as received, each value of a repeated one (Set-Cookie…) apart; content headers included.</summary>
    private static List<KeyValuePair<string, string>> HeadersOf(HttpResponseMessage response)
    {
        var headers = new List<KeyValuePair<string, string>>();
        Add(response.Headers, headers);
        Add(response.Content.Headers, headers);
        return headers;

        static void Add(HttpHeaders from, List<KeyValuePair<string, string>> to)
        {
            foreach (var (name, values) in from.NonValidated)
            {
                foreach (var value in values)
                {
                    to.Add(new(name.ToLowerInvariant(), value));
                }
            }
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && a.Port == b.Port && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase);
}
