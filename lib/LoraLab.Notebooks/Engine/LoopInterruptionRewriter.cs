using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraLab.Notebooks.Engine;

/// <summary>
/// Rewrites a cell so that every loop checks for an interrupt at the top of each iteration:
/// <c>while (true) { work(); }</c> becomes <c>while (true) { CellInterruption.ThrowIfRequested(); work(); }</c>.
/// The check is inserted on the line where the body starts, with no line breaks, so compile errors and stack traces
/// keep naming the lines the user wrote.
/// </summary>
public sealed class LoopInterruptionRewriter : CSharpSyntaxRewriter
{
    static readonly StatementSyntax Check = SyntaxFactory.ParseStatement(
        "global::LoraLab.Notebooks.Engine.CellInterruption.ThrowIfRequested(); ");

    /// <summary>The cell's code with interrupt checks in its loops; the code unchanged when it has no loop.</summary>
    public static string Rewrite(string code, CSharpParseOptions parseOptions)
    {
        var root = SyntaxFactory.ParseSyntaxTree(code, parseOptions).GetRoot();
        if (!root.DescendantNodes().Any(node => node is WhileStatementSyntax or DoStatementSyntax or ForStatementSyntax or CommonForEachStatementSyntax))
            return code;
        return new LoopInterruptionRewriter().Visit(root).ToFullString();
    }

    public override SyntaxNode? VisitWhileStatement(WhileStatementSyntax node)
    {
        var visited = (WhileStatementSyntax)base.VisitWhileStatement(node)!;
        return visited.WithStatement(WithCheck(visited.Statement));
    }

    public override SyntaxNode? VisitDoStatement(DoStatementSyntax node)
    {
        var visited = (DoStatementSyntax)base.VisitDoStatement(node)!;
        return visited.WithStatement(WithCheck(visited.Statement));
    }

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node)
    {
        var visited = (ForStatementSyntax)base.VisitForStatement(node)!;
        return visited.WithStatement(WithCheck(visited.Statement));
    }

    public override SyntaxNode? VisitForEachStatement(ForEachStatementSyntax node)
    {
        var visited = (ForEachStatementSyntax)base.VisitForEachStatement(node)!;
        return visited.WithStatement(WithCheck(visited.Statement));
    }

    public override SyntaxNode? VisitForEachVariableStatement(ForEachVariableStatementSyntax node)
    {
        var visited = (ForEachVariableStatementSyntax)base.VisitForEachVariableStatement(node)!;
        return visited.WithStatement(WithCheck(visited.Statement));
    }

    // A block gets the check as its first statement, on the line of its '{'; a single statement becomes a block around
    // the check and itself, keeping its own leading and trailing trivia (comments, line breaks) outside the new braces.
    static StatementSyntax WithCheck(StatementSyntax body)
    {
        if (body is BlockSyntax block)
            return block.WithStatements(block.Statements.Insert(0, Check));
        var leading = body.GetLeadingTrivia();
        var trailing = body.GetTrailingTrivia();
        var inner = body.WithoutLeadingTrivia().WithoutTrailingTrivia();
        return SyntaxFactory.Block(Check, inner)
            .WithOpenBraceToken(SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithTrailingTrivia(SyntaxFactory.Space))
            .WithCloseBraceToken(SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Space))
            .WithLeadingTrivia(leading)
            .WithTrailingTrivia(trailing);
    }
}
