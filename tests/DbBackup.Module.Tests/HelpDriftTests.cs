using System.Text.RegularExpressions;

namespace DbBackup.Module.Tests;

/// <summary>
/// docs/&lt;Cmdlet&gt;.md (platyPS markdown) must describe the code as compiled: every cmdlet, every parameter with
/// its type, aliases, pipeline and wildcard behaviour, every parameter set, and at least one example.
/// </summary>
public sealed class HelpDriftTests(ModuleMetadata module) : IClassFixture<ModuleMetadata>
{
    private static readonly string[] Sections = ["SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES"];

    public static TheoryData<string> CmdletNames() => new(CmdletMetadataTests.ExpectedCmdlets);

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Page_has_platyPS_front_matter_and_every_section_in_order(string name)
    {
        var page = Page(name);
        var frontMatter = Regex.Match(page, @"\A---\r?\n(?<yaml>.*?)\r?\n---\r?\n", RegexOptions.Singleline);
        Assert.True(frontMatter.Success, "YAML front matter missing");
        Assert.Contains("external help file: DbBackup.dll-Help.xml", frontMatter.Groups["yaml"].Value);
        Assert.Contains("Module Name: DbBackup", frontMatter.Groups["yaml"].Value);
        Assert.Contains("schema: 2.0.0", frontMatter.Groups["yaml"].Value);
        Assert.Matches(new Regex("^# " + Regex.Escape(name) + @"\s*$", RegexOptions.Multiline), page);

        var positions = Sections.Select(s => Regex.Match(page, "^## " + s + @"\s*$", RegexOptions.Multiline)).ToArray();
        Assert.All(positions.Zip(Sections), p => Assert.True(p.First.Success, $"## {p.Second} missing"));
        Assert.Equal(positions.Select(p => p.Index).Order(), positions.Select(p => p.Index));
        Assert.False(string.IsNullOrWhiteSpace(Section(page, "SYNOPSIS")), "empty SYNOPSIS");
        Assert.True(Section(page, "DESCRIPTION").Trim().Length > 80, "DESCRIPTION is too short to help anyone");
        Assert.DoesNotContain("{{", page);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Page_has_a_runnable_looking_example(string name)
    {
        var examples = Section(Page(name), "EXAMPLES");
        var headings = Regex.Matches(examples, @"^### Example \d+", RegexOptions.Multiline);
        Assert.NotEmpty(headings);
        var code = Regex.Matches(examples, @"```powershell\r?\n(?<code>.*?)```", RegexOptions.Singleline);
        Assert.Equal(headings.Count, code.Count);
        Assert.Contains(code, c => c.Groups["code"].Value.Contains(name, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Syntax_lists_every_parameter_set_and_parameter(string name)
    {
        var cmdlet = module.Cmdlet(name);
        var syntax = Section(Page(name), "SYNTAX");
        foreach (var set in cmdlet.ParameterSetNames)
        {
            var heading = set == cmdlet.DefaultParameterSetName ? $"### {set} (Default)" : $"### {set}";
            Assert.Contains(heading, syntax);
        }
        var blocks = Regex.Matches(syntax, @"```\r?\n(?<code>.*?)```", RegexOptions.Singleline);
        Assert.Equal(Math.Max(1, cmdlet.ParameterSetNames.Count), blocks.Count);
        Assert.All(blocks, b => Assert.StartsWith(name + " ", b.Groups["code"].Value));
        foreach (var parameter in cmdlet.Parameters)
        {
            Assert.Contains("-" + parameter.Name, syntax);
        }
        Assert.Contains("[<CommonParameters>]", syntax);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_parameter_is_documented_with_matching_type_aliases_pipeline_and_wildcards(string name)
    {
        var cmdlet = module.Cmdlet(name);
        var parameters = Section(Page(name), "PARAMETERS");
        var documented = Regex.Matches(parameters, @"^### -(?<name>\w+)\s*$", RegexOptions.Multiline)
            .Select(m => m.Groups["name"].Value).ToArray();
        var expected = cmdlet.Parameters.Select(p => p.Name)
            .Concat(cmdlet.SupportsShouldProcess ? ["Confirm", "WhatIf"] : [])
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, documented.Order(StringComparer.Ordinal));
        Assert.Matches(new Regex(@"^### CommonParameters\s*$", RegexOptions.Multiline), parameters);

        foreach (var parameter in cmdlet.Parameters)
        {
            var block = ParameterBlock(parameters, parameter.Name);
            var description = block[..block.IndexOf("```yaml", StringComparison.Ordinal)];
            Assert.True(description.Trim().Length > 10, $"-{parameter.Name} has no description");
            var yamls = Regex.Matches(block, @"```yaml\r?\n(?<yaml>.*?)```", RegexOptions.Singleline).Select(m => m.Groups["yaml"].Value).ToArray();
            Assert.NotEmpty(yamls);
            foreach (var yaml in yamls)
            {
                Assert.Equal(parameter.HelpTypeName, Field(yaml, "Type"));
                var aliases = Field(yaml, "Aliases");
                Assert.Equal(parameter.Aliases.Count == 0 ? "" : string.Join(", ", parameter.Aliases), aliases);
                Assert.Equal(parameter.SupportsWildcards ? "True" : "False", Field(yaml, "Accept wildcard characters"));
            }

            var pipeline = string.Join(" ", yamls.Select(y => Field(y, "Accept pipeline input")));
            Assert.Equal(parameter.AcceptsPipeline, pipeline.Contains("True", StringComparison.Ordinal));
            if (parameter.Sets.Any(s => s.ValueFromPipeline))
            {
                Assert.Contains("ByValue", pipeline);
            }
            if (parameter.Sets.Any(s => s.ValueFromPipelineByPropertyName))
            {
                Assert.Contains("ByPropertyName", pipeline);
            }
            var required = string.Join(" ", yamls.Select(y => Field(y, "Required")));
            Assert.Equal(parameter.Sets.Any(s => s.Mandatory), required.Contains("True", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Inputs_and_outputs_name_the_pipeline_types(string name)
    {
        var cmdlet = module.Cmdlet(name);
        var page = Page(name);
        Assert.Contains("### " + cmdlet.OutputTypes.Single().FullName, Section(page, "OUTPUTS"));
        var inputs = Section(page, "INPUTS");
        foreach (var byValue in cmdlet.Parameters.Where(p => p.Sets.Any(s => s.ValueFromPipeline)))
        {
            Assert.Contains("### " + byValue.Type.FullName, inputs);
        }
    }

    [Fact]
    public void About_topic_introduces_every_cmdlet()
    {
        var path = Path.Combine(ModuleLayout.DocsDirectory, "about_DbBackup.md");
        Assert.True(File.Exists(path), $"{path} is missing");
        var about = File.ReadAllText(path);
        Assert.Matches(new Regex(@"^## about_DbBackup\s*$", RegexOptions.Multiline), about);
        Assert.Matches(new Regex(@"^# SHORT DESCRIPTION\s*$", RegexOptions.Multiline), about);
        Assert.Matches(new Regex(@"^# LONG DESCRIPTION\s*$", RegexOptions.Multiline), about);
        Assert.All(CmdletMetadataTests.ExpectedCmdlets, name => Assert.Contains(name, about));
        Assert.DoesNotContain("{{", about);
    }

    private static string Page(string name)
    {
        var path = Path.Combine(ModuleLayout.DocsDirectory, name + ".md");
        Assert.True(File.Exists(path), $"{path} is missing: every cmdlet has a docs page");
        return File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>The text of "## NAME" up to the next "## " heading.</summary>
    private static string Section(string page, string name)
    {
        var match = Regex.Match(page, "^## " + name + @"\s*\n(?<body>.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(match.Success, $"## {name} missing");
        return match.Groups["body"].Value;
    }

    private static string ParameterBlock(string parameters, string name)
    {
        var match = Regex.Match(parameters, "^### -" + name + @"\s*\n(?<body>.*?)(?=^### |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(match.Success, $"### -{name} missing");
        return match.Groups["body"].Value;
    }

    private static string Field(string yaml, string key)
    {
        var match = Regex.Match(yaml, "^" + Regex.Escape(key) + @":[ \t]*(?<value>.*?)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, $"'{key}:' missing in a parameter yaml block");
        return match.Groups["value"].Value;
    }
}
